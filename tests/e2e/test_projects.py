"""Projects: create, rename, delete with a confirmation; Cancel deletes nothing."""
from __future__ import annotations

from .conftest import connect


async def make_project(person, name):
    await person.say("/projects")
    await person.press_key("btn.new_project")
    await person.expect_key("project.new_prompt")
    await person.say(name)
    await person.expect_key("project.created", name=name)


async def test_rename_and_delete_after_confirming(alice, sandbox):
    await connect(alice)
    await make_project(alice, "Staging")
    await alice.press_key("btn.rename")
    await alice.expect_key("project.rename_prompt", name="Staging")
    await alice.say("Staging EU")
    await alice.expect_key("project.renamed", name="Staging EU")

    await alice.press_key("btn.delete")
    await alice.expect_key("project.delete_confirm", name="Staging EU", servers=0)
    await alice.press_key("btn.cancel")
    await alice.expect("📁 Staging EU")
    assert sandbox.state.requests("DELETE") == []

    await alice.press_key("btn.delete")
    await alice.expect_key("project.delete_confirm", name="Staging EU", servers=0)
    await alice.press_key("btn.delete_yes")
    await alice.expect_key("project.deleted", name="Staging EU")
    assert len(sandbox.state.requests("DELETE")) == 1
    await alice.press_key("btn.projects")
    await alice.expect_key("projects.empty")


async def test_project_name_too_short_is_refused_in_place(alice, sandbox):
    await connect(alice)
    await alice.say("/projects")
    await alice.press_key("btn.new_project")
    await alice.say("ab")
    await alice.expect(alice.tr.plain("project.name_length", min=3, max=100))
    assert sandbox.state.requests("POST") == []
    await alice.say("abc")
    await alice.expect_key("project.created", name="abc")


async def test_projects_are_paged_eight_at_a_time(alice, sandbox):
    await connect(alice)
    from bot.manageit.client import ManageITAPI

    from .conftest import ALICE_TOKEN

    async with ManageITAPI(sandbox.url) as api:
        for i in range(10):
            await api.client(ALICE_TOKEN).projects.create(f"project-{i:02d}")
    await alice.say("/projects")
    first = await alice.expect_key("projects.title", count=10)
    names = [b["text"] for row in first["buttons"] for b in row if "project-" in b["text"]]
    assert len(names) == 8
    await alice.press("»")

    def second_page(messages):
        for m in messages:
            names = [b["text"] for row in m.get("buttons") or [] for b in row if "project-" in b["text"]]
            if any("project-09" in n for n in names):
                return names
        return None

    names = await alice.control.wait_for(alice.chat_id, second_page)
    assert len(names) == 2


async def test_no_token_yet_is_explained(alice):
    await alice.say("/projects")
    await alice.expect_key("error.no_token")


async def test_names_with_html_are_escaped_everywhere(alice):
    await connect(alice)
    name = "<b>Tom & Jerry</b>"
    await make_project(alice, name)
    detail = await alice.expect("📁 " + name)
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in detail["html"]
    await alice.press_key("btn.back")
    await alice.expect_key("projects.title", count=1)


async def test_a_project_with_servers_is_not_offered_for_deletion(alice, sandbox):
    from bot.manageit.client import ManageITAPI

    from .conftest import ALICE_TOKEN

    await connect(alice)
    await make_project(alice, "Busy")
    project = next(iter(sandbox.state.user(1).projects.values()))
    async with ManageITAPI(sandbox.url) as api:
        await api.client(ALICE_TOKEN).servers.create(project.hash, location=4, plan=40, os=18, hostname="web-01",
                                                     password="Passw0rd-123")
    await alice.press_key("btn.delete")
    screen = await alice.expect_key("project.delete_not_empty", name="Busy", servers=1, load_balancers=0)
    buttons = [b["text"] for row in screen["buttons"] for b in row]
    assert alice.label("btn.delete_yes") not in buttons and alice.label("btn.servers") in buttons
    assert sandbox.state.requests("DELETE") == []


async def test_a_name_of_invisible_characters_is_refused(alice, sandbox):
    await connect(alice)
    await alice.say("/projects")
    await alice.press_key("btn.new_project")
    await alice.expect_key("project.new_prompt")
    await alice.say("\u200c\u200c\u200c\u200c")
    await alice.expect(alice.tr.plain("project.name_invisible"))
    await alice.say("\u202eتولید\u202c")  # a bidi override is removed, the name kept
    await alice.expect_key("project.created", name="تولید")
    assert [r["body"] for r in sandbox.state.requests("POST") if r["path"].endswith("/projects")] == [{"name": "تولید"}]
