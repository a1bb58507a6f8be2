"""The 公众号's custom menu from wechat_menu.yaml, checked against WeChat's limits and turned
into the JSON WeChat's menu API takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from knowledge.data import load_yaml
from knowledge.faq import KnowledgeError

FILENAME = "wechat_menu.yaml"
PACKAGED = Path(__file__).with_name(FILENAME)
MAX_TOP, MAX_SUB = 3, 5
MAX_TOP_NAME, MAX_SUB_NAME = 16, 60  # bytes (4 and 20 Chinese characters)
MAX_ACTION = 64  # bytes: the engine's button-action limit (WeChat's own is 128)
MAX_URL = 1024


def menu_path(knowledge_dir: Path | None = None) -> Path:
    """The deployment's own menu file when it has one, else the packaged one."""
    if knowledge_dir is not None and (knowledge_dir / FILENAME).is_file():
        return knowledge_dir / FILENAME
    return PACKAGED


def load_menu(knowledge_dir: Path | None = None) -> dict[str, Any]:
    """The menu as WeChat's `menu/create` body; KnowledgeError names the file, the button and
    what is wrong."""
    path = menu_path(knowledge_dir)
    try:
        data = load_yaml(path)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise KnowledgeError(path, None, f"not valid YAML: {error}") from error
    if (
        not isinstance(data, dict)
        or set(data) != {"button"}
        or not isinstance(data["button"], list)
    ):
        raise KnowledgeError(path, None, "expected only `button:`, a list of buttons")
    top = data["button"]
    if not 1 <= len(top) <= MAX_TOP:
        raise KnowledgeError(path, None, f"WeChat takes 1 to {MAX_TOP} buttons, not {len(top)}")
    return {"button": [_button(path, entry, top_level=True) for entry in top]}


def actions(menu: dict[str, Any]) -> list[str]:
    """Every action a click on the menu can run, in menu order."""
    found = []
    for button in menu["button"]:
        for entry in button.get("sub_button", [button]):
            if entry.get("type") == "click":
                found.append(entry["key"])
    return found


def _button(path: Path, entry: Any, *, top_level: bool) -> dict[str, Any]:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise KnowledgeError(path, None, "every button needs a `name`")
    name = entry["name"].strip()
    limit = MAX_TOP_NAME if top_level else MAX_SUB_NAME
    if not name or len(name.encode()) > limit:
        raise KnowledgeError(path, name, f"a name of 1 to {limit} bytes (UTF-8)")
    kinds = [k for k in ("action", "url", "sub_button") if k in entry]
    unknown = set(entry) - {"name", "action", "url", "sub_button"}
    if len(kinds) != 1 or unknown:
        raise KnowledgeError(path, name, "needs exactly one of `action`, `url`, `sub_button`")
    if kinds == ["sub_button"]:
        subs = entry["sub_button"]
        if not top_level or not isinstance(subs, list) or not 1 <= len(subs) <= MAX_SUB:
            raise KnowledgeError(path, name, f"sub-buttons: a list of 1 to {MAX_SUB}, one level")
        return {"name": name, "sub_button": [_button(path, s, top_level=False) for s in subs]}
    value = entry[kinds[0]]
    if kinds == ["action"]:
        if not isinstance(value, str) or not value.isascii() or not value:
            raise KnowledgeError(path, name, "`action` is a short ASCII id such as menu:complaint")
        if len(value.encode()) > MAX_ACTION:
            raise KnowledgeError(path, name, f"`action` longer than {MAX_ACTION} bytes")
        return {"type": "click", "name": name, "key": value}
    if not isinstance(value, str) or not value.startswith("https://") or len(value) > MAX_URL:
        raise KnowledgeError(path, name, f"`url` is an https address of at most {MAX_URL} bytes")
    return {"type": "view", "name": name, "url": value}
