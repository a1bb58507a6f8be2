/* 邻里 · 社区助手 — resident web chat.
 *
 * Plain browser JS, no dependencies. Served under a strict CSP (script-src 'self'),
 * so nothing here uses eval, inline handlers or innerHTML: every piece of server or
 * resident text is put into the page with textContent only.
 *
 * API (same origin, the resident is identified by a signed HttpOnly cookie):
 *   POST /api/chat          {"text": "...", "id": "<uuid>"} | {"action": "...", "id": "<uuid>"}
 *     200 -> {"replies": [{"text": "...", "buttons": [{"label": "...", "action": "..."}]}],
 *             "locale": "zh" | "en"}
 *     4xx/5xx -> {"error": "<message for the resident>", "locale": ...}
 *   GET  /api/chat/inbox    200 -> {"messages": [{"text": "...", "buttons": [...]}], "locale": ...}
 */
(() => {
  "use strict";

  // ---------------------------------------------------------------- strings

  const STRINGS = {
    zh: {
      htmlLang: "zh-CN",
      title: "邻里 · 社区助手",
      brand: "邻里",
      subtitle: "社区助手",
      clear: "清空记录",
      clearConfirm: "确定要清空这个页面上的聊天记录吗？",
      messagesLabel: "聊天记录",
      inputLabel: "输入消息",
      placeholder: "输入您的问题…",
      send: "发送",
      typing: "邻里正在回复…",
      staff: "工作人员消息",
      whoBot: "邻里：",
      whoUser: "我：",
      whoStaff: "工作人员：",
      network: "网络不太好，请稍后再试",
      serverError: "出了点问题，请稍后再试",
      resending: (s) => `消息有点多，${s} 秒后自动重新发送，您不用再发一遍。`,
      tooLong: "消息太长了，请分几次发送（每次最多 2000 字）",
      nearLimit: "快到字数上限了",
    },
    en: {
      htmlLang: "en",
      title: "Linli · Community assistant",
      brand: "Linli",
      subtitle: "community assistant",
      clear: "Clear",
      clearConfirm: "Clear the conversation shown on this page?",
      messagesLabel: "Conversation",
      inputLabel: "Your message",
      placeholder: "Type your message…",
      send: "Send",
      typing: "Linli is replying…",
      staff: "Message from staff",
      whoBot: "Linli: ",
      whoUser: "Me: ",
      whoStaff: "Staff: ",
      network: "Network problem, please try again",
      serverError: "Something went wrong, please try again later",
      resending: (s) => `A few too many messages: this one is sent again in ${s} s by itself.`,
      tooLong: "This message is too long. Please send it in parts (2000 characters at most).",
      nearLimit: "Nearly at the length limit",
    },
  };

  // ---------------------------------------------------------------- settings

  const CHAT_URL = "/api/chat";
  const INBOX_URL = "/api/chat/inbox";
  const MAX_CHARS = 2000;
  const COUNTER_FROM = 1800;
  const HISTORY_KEY = "linli.chat.history.v1";
  const LOCALE_KEY = "linli.chat.locale.v1";
  const HISTORY_LIMIT = 100;
  const RETRIES = 2;                    // extra attempts after a network failure
  const RETRY_DELAYS_MS = [800, 2000];
  const THROTTLE_RETRIES = 5;           // resends of a message the server asked to wait for
  const THROTTLE_MAX_WAIT_S = 60;
  const REQUEST_TIMEOUT_MS = 25000;
  const POLL_MS = 4000;
  const POLL_BACKOFF_MS = 30000;

  // ---------------------------------------------------------------- elements

  const $ = (id) => document.getElementById(id);
  const scroller = $("scroller");
  const list = $("messages");
  const typing = $("typing");
  const form = $("composer");
  const input = $("input");
  const sendBtn = $("send-btn");
  const meta = $("composer-meta");
  const hint = $("composer-hint");
  const counter = $("composer-counter");
  const clearBtn = $("clear-btn");

  // ---------------------------------------------------------------- state

  /** @type {"zh"|"en"} */
  let locale = "zh";
  /** Persisted conversation: {kind, text, buttons?, used?, chosen?} */
  let history = [];
  let busy = false;
  /** Last text that failed to send, so resending it unchanged reuses the same id. */
  let lastFailed = null;

  const t = (key) => (STRINGS[locale] && STRINGS[locale][key]) || STRINGS.zh[key] || "";

  // ---------------------------------------------------------------- helpers

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      try {
        return window.crypto.randomUUID();
      } catch (_) {
        /* insecure context: fall through */
      }
    }
    const bytes = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) {
      window.crypto.getRandomValues(bytes);
    } else {
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** Length in Unicode code points (what the server counts), not UTF-16 units. */
  const charCount = (s) => {
    let n = 0;
    for (const _ of s) n++;
    return n;
  };

  const reducedMotion = () =>
    window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  /** Keep only well-formed buttons: [{label: string, action: string}]. */
  function cleanButtons(raw) {
    if (!Array.isArray(raw)) return [];
    return raw
      .filter((b) => b && typeof b.label === "string" && typeof b.action === "string" && b.label.trim())
      .map((b) => ({ label: b.label, action: b.action }));
  }

  /** Keep only well-formed messages: [{text, buttons}]. */
  function cleanMessages(raw) {
    if (!Array.isArray(raw)) return [];
    return raw
      .filter((m) => m && typeof m.text === "string")
      .map((m) => ({ text: m.text, buttons: cleanButtons(m.buttons) }))
      .filter((m) => m.text.trim() || m.buttons.length);
  }

  // ---------------------------------------------------------------- storage (sessionStorage only)

  function loadHistory() {
    try {
      const raw = window.sessionStorage.getItem(HISTORY_KEY);
      const data = raw ? JSON.parse(raw) : [];
      if (!Array.isArray(data)) return [];
      return data
        .filter((m) => m && typeof m.text === "string" && ["bot", "staff", "user"].includes(m.kind))
        .map((m) => ({
          kind: m.kind,
          text: m.text,
          buttons: cleanButtons(m.buttons),
          used: Boolean(m.used),
          chosen: typeof m.chosen === "number" ? m.chosen : -1,
        }))
        .slice(-HISTORY_LIMIT);
    } catch (_) {
      return [];
    }
  }

  function saveHistory() {
    if (history.length > HISTORY_LIMIT) history = history.slice(-HISTORY_LIMIT);
    try {
      window.sessionStorage.setItem(HISTORY_KEY, JSON.stringify(history));
    } catch (_) {
      /* storage full or disabled: the page still works, it just won't survive reloads */
    }
  }

  function loadLocale() {
    try {
      const v = window.sessionStorage.getItem(LOCALE_KEY);
      return v === "en" ? "en" : "zh";
    } catch (_) {
      return "zh";
    }
  }

  // ---------------------------------------------------------------- locale

  function applyLocale(next) {
    if (next !== "zh" && next !== "en") return;
    const changed = next !== locale;
    locale = next;
    document.documentElement.lang = t("htmlLang");
    document.title = t("title");
    for (const el of document.querySelectorAll("[data-i18n]")) {
      el.textContent = t(el.dataset.i18n);
    }
    for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
      el.setAttribute("placeholder", t(el.dataset.i18nPlaceholder));
    }
    for (const el of document.querySelectorAll("[data-i18n-aria]")) {
      el.setAttribute("aria-label", t(el.dataset.i18nAria));
    }
    if (changed) updateCounter();
    try {
      window.sessionStorage.setItem(LOCALE_KEY, locale);
    } catch (_) {
      /* ignore */
    }
  }

  // ---------------------------------------------------------------- rendering

  function isNearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 160;
  }

  function scrollToBottom() {
    scroller.scrollTo({ top: scroller.scrollHeight, behavior: "auto" });
  }

  /** Show new messages: bottom if they fit, otherwise the start of the first one. */
  function reveal(firstNew) {
    if (!firstNew) return;
    const behavior = reducedMotion() ? "auto" : "smooth";
    const bottom = scroller.scrollHeight - scroller.clientHeight;
    const startOfNew = firstNew.offsetTop - 12; // .scroller is the offsetParent
    scroller.scrollTo({ top: Math.max(0, Math.min(bottom, startOfNew)), behavior });
  }

  /**
   * Build one message node. `entry` is the history record (or a transient notice).
   * Returns the <li>.
   */
  function renderMessage(entry) {
    const li = document.createElement("li");
    li.className = `msg msg--${entry.kind}`;

    if (entry.kind === "staff") {
      const label = document.createElement("span");
      label.className = "msg__label";
      label.dataset.i18n = "staff";
      label.textContent = t("staff");
      label.setAttribute("aria-hidden", "true");
      li.appendChild(label);
    }

    const bubble = document.createElement("p");
    bubble.className = "msg__bubble";
    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.dataset.i18n =
      entry.kind === "user" ? "whoUser" : entry.kind === "staff" ? "whoStaff" : "whoBot";
    who.textContent = t(who.dataset.i18n);
    bubble.appendChild(who);
    bubble.appendChild(document.createTextNode(entry.text));
    li.appendChild(bubble);

    if (entry.buttons && entry.buttons.length) {
      const actions = document.createElement("div");
      actions.className = "msg__actions";
      entry.buttons.forEach((b, index) => {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.className = "choice";
        btn.textContent = b.label;
        if (entry.used) {
          btn.disabled = true;
          if (entry.chosen === index) btn.classList.add("is-chosen");
        }
        btn.addEventListener("click", () => onChoice(entry, actions, index));
        actions.appendChild(btn);
      });
      li.appendChild(actions);
    }

    list.appendChild(li);
    return li;
  }

  /** Append a persisted message (bot / staff / user). */
  function addMessage(kind, text, buttons) {
    const entry = { kind, text, buttons: buttons || [], used: false, chosen: -1 };
    history.push(entry);
    const li = renderMessage(entry);
    trimDom();
    saveHistory();
    return { entry, li };
  }

  /** Append a transient notice (errors). Not stored: it would be stale after a reload. */
  function addNotice(text) {
    return renderMessage({ kind: "notice", text, buttons: [] });
  }

  function removeMessage(entry, li) {
    const i = history.lastIndexOf(entry);
    if (i !== -1) history.splice(i, 1);
    if (li && li.parentNode) li.parentNode.removeChild(li);
    saveHistory();
  }

  /** Keep the DOM about as long as the stored history. */
  function trimDom() {
    while (list.children.length > HISTORY_LIMIT + 20) list.removeChild(list.firstChild);
  }

  function setBusy(on) {
    busy = on;
    typing.hidden = !on;
    sendBtn.setAttribute("aria-disabled", on ? "true" : "false");
    if (on && isNearBottom()) scrollToBottom();
  }

  function setChoicesEnabled(entry, actions, enabled, chosenIndex) {
    entry.used = !enabled;
    entry.chosen = enabled ? -1 : chosenIndex;
    Array.from(actions.children).forEach((btn, i) => {
      btn.disabled = !enabled;
      btn.classList.toggle("is-chosen", !enabled && i === chosenIndex);
    });
    saveHistory();
  }

  // ---------------------------------------------------------------- network

  async function fetchJson(url, options) {
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS) : null;
    try {
      const res = await fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        signal: controller ? controller.signal : undefined,
        ...options,
      });
      let data = null;
      try {
        data = await res.json();
      } catch (_) {
        data = null; // e.g. an HTML error page from a proxy
      }
      const retryAfter = Number.parseInt(res.headers.get("Retry-After") || "", 10);
      return { ok: res.ok, status: res.status, data, retryAfter };
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /**
   * POST one chat body. Network failures (no response at all) are retried with the
   * SAME body (same id, so the server can de-duplicate) up to RETRIES times; a 429 ("too
   * many messages") is kept and sent again by itself after the wait the server names, so
   * nothing the resident wrote is lost to a rate limit.
   * Resolves to {kind: "ok", replies} | {kind: "error", message} | {kind: "network"}.
   */
  async function postChat(body) {
    const payload = JSON.stringify(body);
    let failures = 0;
    let throttled = 0;
    while (true) {
      let answer;
      try {
        answer = await fetchJson(CHAT_URL, { method: "POST", body: payload });
      } catch (_) {
        if (failures >= RETRIES) return { kind: "network" };
        await sleep(RETRY_DELAYS_MS[failures] || 2000);
        failures += 1;
        continue;
      }
      const { ok, status, data, retryAfter } = answer;
      if (data && typeof data.locale === "string") applyLocale(data.locale);
      if (ok && data) return { kind: "ok", replies: cleanMessages(data.replies) };
      if (status === 429 && throttled < THROTTLE_RETRIES) {
        throttled += 1;
        const wait = Math.min(Math.max(retryAfter || 3, 1), THROTTLE_MAX_WAIT_S);
        reveal(addNotice(t("resending")(wait)));
        await sleep(wait * 1000);
        continue;
      }
      const message =
        data && typeof data.error === "string" && data.error.trim() ? data.error : t("serverError");
      return { kind: "error", message };
    }
  }

  function showReplies(replies) {
    let first = null;
    for (const r of replies) {
      const { li } = addMessage("bot", r.text, r.buttons);
      if (!first) first = li;
    }
    reveal(first);
  }

  /** Send a body and render the outcome. Returns true when the server answered 200. */
  async function exchange(body) {
    setBusy(true);
    let result;
    try {
      result = await postChat(body);
    } finally {
      setBusy(false);
    }
    if (result.kind === "ok") {
      showReplies(result.replies);
      return true;
    }
    const notice = addNotice(result.kind === "network" ? t("network") : result.message);
    reveal(notice);
    return false;
  }

  // ---------------------------------------------------------------- sending

  async function sendText() {
    if (busy) return;
    const raw = input.value;
    const text = raw.trim();
    if (!text) return; // empty / whitespace only: do nothing
    if (charCount(text) > MAX_CHARS) {
      updateCounter();
      input.focus();
      return;
    }

    const id = lastFailed && lastFailed.text === text ? lastFailed.id : newId();
    const { entry, li } = addMessage("user", text);
    reveal(li);
    input.value = "";
    resizeInput();
    updateCounter();

    const ok = await exchange({ text, id });
    if (ok) {
      lastFailed = null;
      return;
    }
    // Not delivered (or refused): take the bubble back and return the text to the composer.
    removeMessage(entry, li);
    lastFailed = { text, id };
    input.value = input.value.trim() ? `${text}\n${input.value}` : text;
    resizeInput();
    updateCounter();
    input.focus();
  }

  async function onChoice(entry, actions, index) {
    if (busy || entry.used) return;
    const button = entry.buttons[index];
    if (!button) return;
    setChoicesEnabled(entry, actions, false, index);
    const { entry: mine, li } = addMessage("user", button.label);
    reveal(li);
    const ok = await exchange({ action: button.action, id: newId() });
    if (!ok) {
      removeMessage(mine, li);
      setChoicesEnabled(entry, actions, true, -1);
    }
  }

  // ---------------------------------------------------------------- composer

  function resizeInput() {
    input.style.height = "auto";
    const max = parseFloat(getComputedStyle(input).maxHeight) || 0;
    const needed = input.scrollHeight + 4; // + borders
    const capped = max > 0 && needed > max;
    input.style.height = `${capped ? max : needed}px`;
    input.classList.toggle("is-scrolling", capped);
  }

  function updateCounter() {
    const n = charCount(input.value.trim());
    const tooLong = n > MAX_CHARS;
    form.classList.toggle("is-too-long", tooLong);
    input.setAttribute("aria-invalid", tooLong ? "true" : "false");
    if (n > COUNTER_FROM) {
      meta.hidden = false;
      counter.textContent = `${n} / ${MAX_CHARS}`;
      const msg = tooLong ? t("tooLong") : t("nearLimit");
      if (hint.textContent !== msg) hint.textContent = msg;
    } else {
      meta.hidden = true;
      counter.textContent = "";
      hint.textContent = "";
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    sendText();
  });

  input.addEventListener("keydown", (e) => {
    // Never send while an IME (pinyin etc.) is composing: Enter confirms the candidate.
    if (e.isComposing || e.keyCode === 229) return;
    if (e.key === "Enter" && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      sendText();
    }
  });

  input.addEventListener("input", () => {
    resizeInput();
    updateCounter();
  });

  clearBtn.addEventListener("click", () => {
    if (list.children.length && !window.confirm(t("clearConfirm"))) return;
    history = [];
    saveHistory();
    list.replaceChildren();
    lastFailed = null;
    input.focus();
  });

  // ---------------------------------------------------------------- inbox polling

  let pollTimer = null;
  let polling = false;
  let pollStarted = false;

  function schedulePoll(ms) {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
    if (document.hidden) return; // resumed by visibilitychange
    pollTimer = setTimeout(pollInbox, ms);
  }

  async function pollInbox() {
    pollTimer = null;
    if (polling || document.hidden) return;
    polling = true;
    let next = POLL_MS;
    try {
      const { ok, data } = await fetchJson(INBOX_URL, { method: "GET" });
      if (data && typeof data.locale === "string") applyLocale(data.locale);
      if (ok && data) {
        const messages = cleanMessages(data.messages);
        if (messages.length) {
          const follow = isNearBottom();
          let first = null;
          for (const m of messages) {
            const { li } = addMessage("staff", m.text, m.buttons);
            if (!first) first = li;
          }
          if (follow) reveal(first);
        }
      } else {
        next = POLL_BACKOFF_MS;
      }
    } catch (_) {
      next = POLL_BACKOFF_MS;
    } finally {
      polling = false;
    }
    schedulePoll(next);
  }

  document.addEventListener("visibilitychange", () => {
    if (!pollStarted) return;
    if (document.hidden) {
      if (pollTimer) clearTimeout(pollTimer);
      pollTimer = null;
    } else {
      schedulePoll(0); // poll at once when the page comes back
    }
  });

  // ---------------------------------------------------------------- start

  function restore() {
    history = loadHistory();
    for (const entry of history) renderMessage(entry);
    scrollToBottom();
  }

  async function start() {
    applyLocale(loadLocale());
    restore();
    resizeInput();
    updateCounter();
    await exchange({ action: "hello", id: newId() });
    pollStarted = true;
    schedulePoll(POLL_MS);
  }

  start();
})();
