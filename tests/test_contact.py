"""Getting in touch: the contact page."""


def test_contact_page_gives_the_practice_email(client, app):
    """Does /contact invite the reader to write and give the practice's address?"""
    html = client.get("/contact").get_data(as_text=True)
    assert "I'd love to hear from you" in html
    assert f'href="mailto:{app.config["PRACTICE_EMAIL"]}"' in html
    assert "not an emergency" in html
