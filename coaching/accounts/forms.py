"""The sign-in, second-factor, password and account forms."""

from __future__ import annotations

from wtforms import (
    EmailField,
    PasswordField,
    StringField,
)
from wtforms.validators import DataRequired, ValidationError

from coaching.web.forms import SiteForm, email_validators, strip_text


class SignInForm(SiteForm):
    """The coach's sign-in: address and password (paste allowed, no puzzles)."""

    email = EmailField("Email address", filters=[strip_text],
                       validators=[DataRequired("Enter the email address of your account")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password")])


class SecondFactorForm(SiteForm):
    """The 6-digit code from an authenticator app, or a recovery code."""

    code = StringField("Code from your authenticator app, or a recovery code", filters=[strip_text],
                       validators=[DataRequired("Enter the 6-digit code from your authenticator app")])


class ChangePasswordForm(SiteForm):
    """Change the admin password: the current one, then the new one twice."""

    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password")])
    new_password = PasswordField("New password", validators=[DataRequired("Enter a new password")])
    confirm_password = PasswordField("New password again",
                                     validators=[DataRequired("Enter the new password again")])

    def validate_confirm_password(self, field) -> None:
        """The two new passwords must match."""
        if field.data != self.new_password.data:
            raise ValidationError("The two new passwords are different. Type the same password in both boxes")


class ConfirmPasswordForm(SiteForm):
    """Re-enter the password before a security change (turning off the second factor)."""

    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password")])



class ForgotPasswordForm(SiteForm):
    """Ask for a link to choose a new password: the address of the admin account."""

    email = EmailField("Email address", filters=[strip_text],
                       validators=email_validators("Enter the email address of your account"))


class ResetPasswordForm(SiteForm):
    """Choose a new password from a reset link: twice, to catch a slip of the finger (paste allowed)."""

    new_password = PasswordField("New password", validators=[DataRequired("Enter a new password")])
    confirm_password = PasswordField("New password again",
                                     validators=[DataRequired("Enter the new password again")])
    validate_confirm_password = ChangePasswordForm.validate_confirm_password
