"""MSG-12: where the patient writes — a reply in a conversation, a message to a pharmacy — he is
told plainly that messaging does not replace a consultation and that an emergency needs direct
contact; on a 360 px phone, with axe, like every page."""

from __future__ import annotations

import re

from web_support import Site, check_page

WARNING = "La messagerie ne remplace pas une consultation"


def test_msg_12_the_patient_is_warned_where_he_writes(site: Site) -> None:
    from carnet.demo import personas
    from carnet.demo.load import load_demo

    load_demo(site.rt, extra_patients=0)
    page = site.page()
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto("/demo")
    page.get_by_role(
        "button", name=f"Se connecter : {personas.CLAIRE.first_names} {personas.CLAIRE.birth_names}"
    ).click()
    page.wait_for_url(re.compile(r"/espace"))
    space = re.search(r"/espace/[^/]+", page.url)
    assert space is not None
    page.goto(f"{space.group(0)}/messagerie/pharmacie")
    assert WARNING in page.locator("#not-a-consultation").inner_text()
    assert "112" in page.locator("#not-a-consultation").inner_text()
    assert page.locator("textarea#body").get_attribute("aria-describedby") == "not-a-consultation"
    check_page(page, "msg_12_pharmacy")
    page.goto(f"{space.group(0)}/messagerie")
    conversations = page.locator("main a[href*='/messagerie/']").filter(has_not_text="pharmacie")
    replied = False
    for href in [conversations.nth(i).get_attribute("href") for i in range(conversations.count())]:
        assert href is not None
        page.goto(href)
        if page.locator("#reply-form").count():
            form = page.locator("#reply-form")
            assert WARNING in form.locator("#not-a-consultation").inner_text()
            assert (
                form.get_by_label("Votre réponse").get_attribute("aria-describedby")
                == "not-a-consultation"
            )
            check_page(page, "msg_12_reply")
            replied = True
            break
    assert replied, "the demo patient has a conversation she may answer"
