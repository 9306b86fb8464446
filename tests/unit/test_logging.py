import logging

from bot import logging_setup


def test_bot_token_in_a_url_is_redacted_at_the_source(caplog):
    token = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    logging_setup.protect_secret(token)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("httpx").warning("HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", token)
        logging.getLogger("x").info("token=%s", "123:abcdefghijklmnop")
    text = caplog.text
    assert token not in text and "abcdefghijklmnop" not in text
    assert "<redacted>" in text
