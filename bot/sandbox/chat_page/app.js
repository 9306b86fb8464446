/* The local chat page of the Telegram Bot API emulator.
 *
 * Talks only to the emulator that served it: /control/* (JSON) to act as a user and read
 * chats, /control/events (server-sent events) to learn about new, edited and deleted
 * messages and answered button presses. Messages are drawn from their text and entities,
 * as Telegram clients draw them; nothing received is ever inserted as HTML.
 */
"use strict";

(() => {
  const S = {
    bot: null,
    info: {},
    users: new Map(),
    chats: new Map(),
    me: null,
    chatId: null,
    messages: new Map(),
    previews: new Map(),
    unread: new Map(),
    replyTo: null,
    replyAuto: false,
    pending: new Map(),
    early: new Map(),
    commands: [],
    loaded: false,
    loading: null,
    busy: 0,
    queue: [],
    typingTimer: null,
  };

  const $ = (id) => document.getElementById(id);
  const els = {
    userPicker: $("user-picker"),
    langPicker: $("lang-picker"),
    chatList: $("chat-list"),
    notes: $("notes"),
    title: $("chat-title"),
    subtitle: $("chat-subtitle"),
    avatar: $("chat-avatar"),
    connection: $("connection"),
    messages: $("messages"),
    replyBar: $("reply-bar"),
    replyTitle: $("reply-bar-title"),
    replyText: $("reply-bar-text"),
    replyCancel: $("reply-cancel"),
    replyKeyboard: $("reply-keyboard"),
    input: $("composer-input"),
    send: $("send-button"),
    commandsButton: $("commands-button"),
    commandsMenu: $("commands-menu"),
    toast: $("toast"),
    alert: $("alert"),
    alertTitle: $("alert-title"),
    alertText: $("alert-text"),
    alertOk: $("alert-ok"),
  };

  // ---------------------------------------------------------------- talking to the emulator

  async function api(method, path, body) {
    const options = { method, headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch("/control/" + path, options);
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      throw new Error((data && data.error) || response.status + " " + response.statusText);
    }
    return data;
  }

  // ---------------------------------------------------------------- text direction

  // Strong right-to-left letters (Hebrew, Arabic, Persian, Syriac, Thaana, N'Ko, presentation forms).
  // The right-to-left mark (U+200F) counts as one, as in the Unicode bidi algorithm.
  const RTL_CHAR = /[\u0590-\u05FF\u0600-\u06FF\u0700-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF\u200F]/;
  // Strong left-to-right letters: Latin, Greek, Cyrillic and the like.
  const LTR_CHAR = /[A-Za-z\u00C0-\u02B8\u0370-\u03FF\u0400-\u052F\u1E00-\u1FFF\u200E]/;

  /** The direction of a paragraph: its first strong letter, skipping isolated runs (bidi P2). */
  function textDir(text) {
    let depth = 0;
    for (const ch of text || "") {
      if (ch === "\u2066" || ch === "\u2067" || ch === "\u2068") { depth += 1; continue; }
      if (ch === "\u2069") { depth = Math.max(0, depth - 1); continue; }
      if (depth > 0) continue;
      if (RTL_CHAR.test(ch)) return "rtl";
      if (LTR_CHAR.test(ch)) return "ltr";
    }
    return "ltr";
  }

  // ---------------------------------------------------------------- entities → DOM

  const SAFE_SCHEMES = /^(https?:|mailto:|tel:|tg:)/i;

  function link(href, cls) {
    const a = document.createElement("a");
    if (SAFE_SCHEMES.test(href)) {
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
    }
    if (cls) a.className = cls;
    return a;
  }

  function entityElement(entity, piece) {
    let el;
    switch (entity.type) {
      case "bold": el = document.createElement("b"); break;
      case "italic": el = document.createElement("i"); break;
      case "underline": el = document.createElement("u"); break;
      case "strikethrough": el = document.createElement("s"); break;
      case "spoiler":
        el = document.createElement("span");
        el.className = "spoiler";
        el.title = "Spoiler: click to show";
        el.tabIndex = 0;
        el.addEventListener("click", (ev) => {
          if (!el.classList.contains("revealed")) {
            ev.preventDefault();
            ev.stopPropagation();
            el.classList.add("revealed");
          }
        });
        break;
      case "code": el = document.createElement("code"); break;
      case "pre": {
        const pre = document.createElement("pre");
        const code = document.createElement("code");
        if (entity.language) {
          pre.dataset.language = entity.language;
          code.className = "language-" + entity.language;
        }
        pre.appendChild(code);
        return { outer: pre, inner: code };
      }
      case "text_link":
        if (/^tg:\/\/user\?id=\d+$/i.test(String(entity.url || ""))) {
          el = document.createElement("span"); // a mention of a user by id, as Telegram shows it
          el.className = "mention";
        } else {
          el = link(String(entity.url || ""), "text-link");
        }
        break;
      case "url": el = link(/^[a-z][a-z0-9+.-]*:/i.test(piece) ? piece : "http://" + piece, "url"); break;
      case "email": el = link("mailto:" + piece); break;
      case "phone_number": el = link("tel:" + piece.replace(/[^0-9+]/g, "")); break;
      case "bot_command":
        el = document.createElement("a");
        el.className = "command";
        el.href = "#";
        el.addEventListener("click", (ev) => {
          ev.preventDefault();
          sendText(piece);
        });
        break;
      case "mention":
      case "text_mention":
        el = document.createElement("span");
        el.className = "mention";
        break;
      case "hashtag":
      case "cashtag":
        el = document.createElement("span");
        el.className = "hashtag";
        break;
      case "blockquote": el = document.createElement("blockquote"); break;
      case "expandable_blockquote":
        el = document.createElement("blockquote");
        el.className = "expandable";
        el.title = "Click to expand";
        el.addEventListener("click", () => el.classList.toggle("expanded"));
        break;
      default:
        el = document.createElement("span");
        el.className = "entity-" + String(entity.type || "unknown").replace(/[^a-z_]/g, "");
    }
    return { outer: el, inner: el };
  }

  /** Text plus entities (offsets in UTF-16 code units, as JavaScript strings count) → nodes. */
  function renderEntities(text, entities) {
    const root = document.createDocumentFragment();
    const sorted = (entities || [])
      .filter((e) => Number.isInteger(e.offset) && Number.isInteger(e.length) && e.length > 0)
      .slice()
      .sort((a, b) => a.offset - b.offset || b.length - a.length);

    // A line break right before or after a block (pre, blockquote) is the block's own edge.
    const isBlock = (e) => e.type === "pre" || e.type === "blockquote" || e.type === "expandable_blockquote";

    function appendText(parent, piece, afterBlock, beforeBlock) {
      if (afterBlock && piece.startsWith("\n")) piece = piece.slice(1);
      if (beforeBlock && piece.endsWith("\n")) piece = piece.slice(0, -1);
      if (piece) parent.appendChild(document.createTextNode(piece));
    }

    function build(parent, start, end, list) {
      let pos = start;
      let i = 0;
      let afterBlock = false;
      while (i < list.length) {
        const e = list[i];
        const eEnd = e.offset + e.length;
        if (e.offset < pos || eEnd > end) { i += 1; continue; } // overlapping: drawn as plain text
        if (e.offset > pos) appendText(parent, text.slice(pos, e.offset), afterBlock, isBlock(e));
        const inside = [];
        let j = i + 1;
        while (j < list.length && list[j].offset < eEnd) {
          if (list[j].offset + list[j].length <= eEnd) inside.push(list[j]);
          j += 1;
        }
        const node = entityElement(e, text.slice(e.offset, eEnd));
        build(node.inner, e.offset, eEnd, inside);
        parent.appendChild(node.outer);
        afterBlock = isBlock(e);
        pos = eEnd;
        i = j;
      }
      if (pos < end) appendText(parent, text.slice(pos, end), afterBlock, false);
    }

    build(root, 0, (text || "").length, sorted);
    return root;
  }

  // ---------------------------------------------------------------- who is who

  function me() {
    return S.users.get(S.me) || null;
  }

  function myLanguage() {
    const u = me();
    return (u && u.language_code) || "en";
  }

  function fullName(user) {
    if (!user) return "Unknown";
    return [user.first_name, user.last_name].filter(Boolean).join(" ");
  }

  function senderName(m) {
    if (m.from_bot) return (S.bot && S.bot.first_name) || "Bot";
    return fullName(S.users.get(m.user_id)) || "User " + m.user_id;
  }

  function colorIndex(id) {
    return Math.abs(Number(id) || 0) % 7;
  }

  function currentChat() {
    return S.chats.get(S.chatId) || null;
  }

  function isGroup(chat) {
    return !!chat && (chat.type === "group" || chat.type === "supergroup");
  }

  function myChats() {
    const list = [];
    if (S.me != null) list.push({ id: S.me, type: "private", title: (S.bot && S.bot.first_name) || "Bot" });
    for (const chat of S.chats.values()) {
      if (isGroup(chat) && chat.members.includes(S.me)) list.push(chat);
    }
    return list;
  }

  function chatTitle(chat) {
    if (!chat || chat.type === "private") return (S.bot && S.bot.first_name) || "Bot";
    return chat.title || "Group";
  }

  // ---------------------------------------------------------------- the sidebar

  function renderUserPicker() {
    els.userPicker.textContent = "";
    for (const user of S.users.values()) {
      const option = document.createElement("option");
      option.value = String(user.id);
      const uname = user.username ? " @" + user.username : "";
      option.textContent = fullName(user) + uname + " · " + (user.language_code || "—");
      if (user.id === S.me) option.selected = true;
      els.userPicker.appendChild(option);
    }
  }

  function renderLangPicker() {
    const lang = myLanguage();
    for (const button of els.langPicker.querySelectorAll("button[data-lang]")) {
      const on = button.dataset.lang === lang;
      button.setAttribute("aria-checked", on ? "true" : "false");
      button.classList.toggle("active", on);
    }
    els.input.lang = lang;
    document.documentElement.dataset.userLang = lang;
  }

  function avatarFor(el, title, id) {
    el.textContent = (title || "?").trim().charAt(0).toUpperCase();
    el.dataset.color = String(colorIndex(id));
  }

  function renderChatList() {
    els.chatList.textContent = "";
    for (const chat of myChats()) {
      const item = document.createElement("button");
      item.type = "button";
      item.className = "chat-item" + (chat.id === S.chatId ? " active" : "");
      item.dataset.chatId = String(chat.id);
      item.dataset.chatType = chat.type;
      const avatar = document.createElement("span");
      avatar.className = "avatar small";
      avatarFor(avatar, chatTitle(chat), chat.id);
      const body = document.createElement("span");
      body.className = "chat-item-body";
      const title = document.createElement("span");
      title.className = "chat-item-title";
      title.textContent = chatTitle(chat);
      const preview = document.createElement("span");
      preview.className = "chat-item-preview";
      const text = S.previews.get(chat.id) || (chat.type === "private" ? "private chat with the bot" : "group");
      preview.textContent = text;
      preview.dir = textDir(text);
      body.append(title, preview);
      item.append(avatar, body);
      const unread = S.unread.get(chat.id) || 0;
      if (unread > 0 && chat.id !== S.chatId) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = String(unread);
        item.appendChild(badge);
      }
      item.addEventListener("click", () => openChat(chat.id));
      els.chatList.appendChild(item);
    }
  }

  function renderNotes() {
    els.notes.textContent = "";
    const info = S.info || {};
    const head = document.createElement("div");
    head.className = "notes-title";
    head.textContent = "Local demo";
    els.notes.appendChild(head);
    const p = document.createElement("p");
    p.textContent = "No Telegram, no ManageIT account: the bot talks to a local emulator and a sandbox. "
      + "Send /start, then /token and a sandbox token.";
    els.notes.appendChild(p);
    if (Array.isArray(info.tokens) && info.tokens.length) {
      const label = document.createElement("div");
      label.className = "notes-label";
      label.textContent = "Sandbox tokens (click to put in the message box):";
      els.notes.appendChild(label);
      for (const t of info.tokens) {
        const chip = document.createElement("button");
        chip.type = "button";
        chip.className = "token-chip";
        chip.dataset.token = String(t.token);
        chip.textContent = String(t.token);
        chip.title = "ManageIT account: " + String(t.account || "");
        chip.addEventListener("click", () => {
          els.input.value = String(t.token);
          autoGrow();
          els.input.focus();
        });
        els.notes.appendChild(chip);
      }
    }
    if (typeof info.delay === "number") {
      const d = document.createElement("p");
      d.className = "notes-small";
      d.textContent = "New servers become active after " + info.delay + " s.";
      els.notes.appendChild(d);
    }
    if (S.bot) {
      const b = document.createElement("p");
      b.className = "notes-small";
      b.textContent = "Bot: @" + S.bot.username + (S.privacyMode ? " · privacy mode on: in groups it sees commands and replies to it" : "");
      els.notes.appendChild(b);
    }
  }

  // ---------------------------------------------------------------- the header

  function renderHeader() {
    const chat = currentChat();
    const title = chatTitle(chat || { type: "private" });
    els.title.textContent = title;
    avatarFor(els.avatar, title, S.chatId);
    if (S.typingTimer) return;
    els.subtitle.textContent = subtitleText(chat);
  }

  function subtitleText(chat) {
    if (isGroup(chat)) {
      const n = chat.members.length + (chat.bot_is_member ? 1 : 0);
      return n + " members";
    }
    const user = me();
    return "bot · you are " + fullName(user);
  }

  function showTyping(action) {
    const chat = currentChat();
    const who = isGroup(chat) ? ((S.bot && S.bot.first_name) || "bot") + " is " : "";
    els.subtitle.textContent = who + (action === "typing" ? "typing…" : action.replace(/_/g, " ") + "…");
    els.subtitle.classList.add("typing");
    clearTimeout(S.typingTimer);
    S.typingTimer = setTimeout(() => {
      S.typingTimer = null;
      els.subtitle.classList.remove("typing");
      renderHeader();
    }, 4000);
  }

  // ---------------------------------------------------------------- messages

  function snippet(m) {
    if (!m) return "";
    if (m.deleted) return "Deleted message";
    const t = (m.text || "").replace(/\s+/g, " ").trim();
    return t.length > 90 ? t.slice(0, 89) + "…" : t;
  }

  function timeOf(m) {
    const d = new Date((m.date || 0) * 1000);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function renderKeyboard(m) {
    const wrap = document.createElement("div");
    wrap.className = "keyboard";
    for (const row of m.buttons || []) {
      const r = document.createElement("div");
      r.className = "kb-row";
      for (const b of row) {
        let el;
        const label = String(b.text || "");
        if (b.url) {
          el = link(String(b.url), "kb-btn kb-url");
          el.setAttribute("role", "button");
        } else {
          el = document.createElement("button");
          el.type = "button";
          el.className = "kb-btn";
        }
        const span = document.createElement("span");
        span.className = "kb-label";
        span.textContent = label;
        span.dir = textDir(label);
        el.appendChild(span);
        el.dataset.label = label;
        if (b.callback_data !== undefined) {
          el.dataset.data = String(b.callback_data);
          el.addEventListener("click", () => pressButton(m, b, el));
        } else if (b.copy_text) {
          el.classList.add("kb-copy");
          el.addEventListener("click", () => copyText(String(b.copy_text.text || "")));
        } else if (!b.url) {
          el.disabled = true;
          el.title = "not available in the local chat page";
        }
        r.appendChild(el);
      }
      wrap.appendChild(r);
    }
    return wrap;
  }

  function renderMessage(m) {
    const own = !m.from_bot && m.user_id === S.me;
    const row = document.createElement("div");
    row.className = "msg " + (own ? "out" : "in") + (m.from_bot ? " from-bot" : "") + (m.deleted ? " deleted" : "")
      + (m.edited ? " edited" : "");
    row.dataset.id = String(m.message_id);
    row.dataset.from = m.from_bot ? "bot" : String(m.user_id);

    const bubble = document.createElement("div");
    bubble.className = "bubble";
    row.appendChild(bubble);

    const chat = currentChat();
    if (!own && isGroup(chat)) {
      const name = document.createElement("div");
      name.className = "sender";
      name.dataset.color = String(colorIndex(m.from_bot ? 0 : m.user_id));
      name.textContent = senderName(m);
      bubble.appendChild(name);
    }

    if (m.deleted) {
      const gone = document.createElement("div");
      gone.className = "tombstone";
      gone.textContent = "🗑 Message deleted";
      bubble.appendChild(gone);
      return row;
    }

    if (m.reply_to_message_id != null) {
      const target = S.messages.get(m.reply_to_message_id);
      const quote = document.createElement("div");
      quote.className = "reply-quote";
      const who = document.createElement("div");
      who.className = "reply-quote-name";
      who.textContent = target ? senderName(target) : "Message";
      const what = document.createElement("div");
      what.className = "reply-quote-text";
      const s = snippet(target);
      what.textContent = s;
      what.dir = textDir(s);
      quote.append(who, what);
      quote.addEventListener("click", () => {
        const el = els.messages.querySelector('[data-id="' + m.reply_to_message_id + '"]');
        if (el) {
          el.scrollIntoView({ block: "center", behavior: "smooth" });
          el.classList.add("flash");
          setTimeout(() => el.classList.remove("flash"), 1200);
        }
      });
      bubble.appendChild(quote);
    }

    const text = document.createElement("div");
    text.className = "text";
    text.dir = textDir(m.text || "");
    text.appendChild(renderEntities(m.text || "", m.entities));
    bubble.appendChild(text);

    const meta = document.createElement("span");
    meta.className = "meta";
    if (m.delivered === false) {
      const hidden = document.createElement("span");
      hidden.className = "not-delivered";
      hidden.title = "The bot did not receive this message (privacy mode: in groups it sees commands, mentions and replies to it)";
      hidden.textContent = "not seen by the bot";
      meta.appendChild(hidden);
    }
    if (m.force_reply) {
      const fr = document.createElement("span");
      fr.className = "force-reply-mark";
      fr.title = "The bot asks for a reply to this message";
      fr.textContent = "↩ reply";
      meta.appendChild(fr);
    }
    if (m.edited) {
      const ed = document.createElement("span");
      ed.className = "edited-mark";
      ed.textContent = "edited";
      meta.appendChild(ed);
    }
    const time = document.createElement("span");
    time.className = "time";
    time.textContent = timeOf(m);
    meta.appendChild(time);
    bubble.appendChild(meta);

    const replyButton = document.createElement("button");
    replyButton.type = "button";
    replyButton.className = "reply-button";
    replyButton.title = "Reply";
    replyButton.setAttribute("aria-label", "Reply to this message");
    replyButton.textContent = "↩";
    replyButton.addEventListener("click", () => setReply(m.message_id, false));
    row.appendChild(replyButton);
    bubble.addEventListener("dblclick", () => setReply(m.message_id, false));

    if (m.buttons && m.buttons.length) row.appendChild(renderKeyboard(m));
    return row;
  }

  function nearBottom() {
    const box = els.messages;
    return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  }

  function scrollToBottom() {
    els.messages.scrollTop = els.messages.scrollHeight;
  }

  function renderChat() {
    els.messages.textContent = "";
    const ids = Array.from(S.messages.keys()).sort((a, b) => a - b);
    if (!ids.length) {
      const empty = document.createElement("div");
      empty.className = "empty-chat";
      empty.textContent = isGroup(currentChat())
        ? "No messages yet. Try /projects@" + ((S.bot && S.bot.username) || "bot") + " or /start."
        : "No messages yet. Send /start to begin.";
      els.messages.appendChild(empty);
    }
    for (const id of ids) els.messages.appendChild(renderMessage(S.messages.get(id)));
    scrollToBottom();
  }

  function upsertMessage(m) {
    const isNew = !S.messages.has(m.message_id);
    const follow = nearBottom() || (isNew && (m.from_bot || m.user_id === S.me));
    S.messages.set(m.message_id, m);
    const empty = els.messages.querySelector(".empty-chat");
    if (empty) empty.remove();
    const fresh = renderMessage(m);
    const old = els.messages.querySelector('.msg[data-id="' + m.message_id + '"]');
    if (old) {
      old.replaceWith(fresh);
    } else {
      let before = null;
      for (const el of els.messages.querySelectorAll(".msg")) {
        if (Number(el.dataset.id) > m.message_id) { before = el; break; }
      }
      els.messages.insertBefore(fresh, before);
    }
    // quotes of replies to this message show its new text
    for (const other of S.messages.values()) {
      if (other.reply_to_message_id === m.message_id && other.message_id !== m.message_id) {
        const el = els.messages.querySelector('.msg[data-id="' + other.message_id + '"]');
        if (el) el.replaceWith(renderMessage(other));
      }
    }
    if (follow) scrollToBottom(); // a new message, or an edit that grew the newest one
  }

  // ---------------------------------------------------------------- replies and ForceReply

  function forceReplyTargetsMe(m) {
    if (!m.from_bot || !m.force_reply || m.deleted) return false;
    const markup = m.keyboard_markup || {};
    if (!markup.selective) return true;
    const replied = m.reply_to_message_id != null ? S.messages.get(m.reply_to_message_id) : null;
    if (replied && !replied.from_bot && replied.user_id === S.me) return true;
    return mentionsMe(m);
  }

  /** Does the message mention the acting user (@username, a text mention, a tg://user link)? */
  function mentionsMe(m) {
    const u = me();
    if (!u) return false;
    for (const e of m.entities || []) {
      if (e.type === "text_mention" && e.user && e.user.id === u.id) return true;
      if (e.type === "text_link" && String(e.url || "").toLowerCase() === "tg://user?id=" + u.id) return true;
    }
    return !!(u.username && (m.text || "").toLowerCase().includes("@" + u.username.toLowerCase()));
  }

  /** On opening a chat: a ForceReply prompt not yet answered by me takes the reply. */
  function pickPendingForceReply() {
    const ids = Array.from(S.messages.keys()).sort((a, b) => b - a);
    for (const id of ids) {
      const m = S.messages.get(id);
      if (!m.from_bot && m.user_id === S.me) break; // I already wrote after it
      if (forceReplyTargetsMe(m)) {
        setReply(m.message_id, true);
        return;
      }
    }
    clearReply();
  }

  function setReply(messageId, auto) {
    const m = S.messages.get(messageId);
    if (!m || m.deleted) return;
    S.replyTo = messageId;
    S.replyAuto = auto;
    els.replyTitle.textContent = "Reply to " + senderName(m);
    const s = snippet(m);
    els.replyText.textContent = s;
    els.replyText.dir = textDir(s);
    els.replyBar.hidden = false;
    els.replyBar.dataset.messageId = String(messageId);
    const placeholder = auto && m.keyboard_markup && m.keyboard_markup.input_field_placeholder;
    els.input.placeholder = placeholder ? String(placeholder) : "Reply…";
    els.input.focus();
  }

  function clearReply() {
    S.replyTo = null;
    S.replyAuto = false;
    els.replyBar.hidden = true;
    delete els.replyBar.dataset.messageId;
    els.input.placeholder = "Message";
  }

  /** A ReplyKeyboardMarkup from the bot's newest message that sent one (or removed it). */
  function renderReplyKeyboard() {
    const ids = Array.from(S.messages.keys()).sort((a, b) => b - a);
    let markup = null;
    for (const id of ids) {
      const m = S.messages.get(id);
      if (m.from_bot && m.keyboard_markup && (m.keyboard_markup.keyboard || m.keyboard_markup.remove_keyboard)) {
        markup = m.keyboard_markup;
        break;
      }
    }
    els.replyKeyboard.textContent = "";
    if (!markup || !Array.isArray(markup.keyboard)) {
      els.replyKeyboard.hidden = true;
      return;
    }
    for (const row of markup.keyboard) {
      const r = document.createElement("div");
      r.className = "kb-row";
      for (const b of row) {
        const label = typeof b === "string" ? b : String(b.text || "");
        const el = document.createElement("button");
        el.type = "button";
        el.className = "kb-btn";
        el.textContent = label;
        el.dir = textDir(label);
        el.addEventListener("click", () => sendText(label));
        r.appendChild(el);
      }
      els.replyKeyboard.appendChild(r);
    }
    els.replyKeyboard.hidden = false;
  }

  // ---------------------------------------------------------------- acting

  async function sendText(raw) {
    const text = String(raw || "");
    if (!text.trim()) return;
    const body = { chat_id: S.chatId, user_id: S.me, text, language_code: myLanguage() };
    if (S.replyTo != null) body.reply_to_message_id = S.replyTo;
    clearReply();
    closeCommands();
    try {
      await api("POST", "send", body);
    } catch (err) {
      showToast("Not sent: " + err.message, true);
      return false;
    }
    return true;
  }

  async function sendFromInput() {
    const text = els.input.value;
    if (!text.trim()) return;
    els.input.value = "";
    autoGrow();
    const ok = await sendText(text);
    if (ok === false) {
      els.input.value = text;
      autoGrow();
    }
  }

  async function pressButton(m, button, el) {
    if (el.classList.contains("loading")) return;
    el.classList.add("loading");
    let result;
    try {
      result = await api("POST", "press", {
        chat_id: m.chat_id, user_id: S.me, data: button.callback_data, message_id: m.message_id,
      });
    } catch (err) {
      el.classList.remove("loading");
      showToast("Could not press: " + err.message, true);
      return;
    }
    const id = result.callback_query_id;
    const timer = setTimeout(() => {
      S.pending.delete(id);
      el.classList.remove("loading");
    }, 15000);
    S.pending.set(id, { el, timer });
    if (S.early.has(id)) {
      const answer = S.early.get(id);
      S.early.delete(id);
      onCallbackAnswer(answer);
    }
  }

  function onCallbackAnswer(query) {
    const id = query.callback_query_id;
    const pending = S.pending.get(id);
    if (!pending) {
      if (query.user_id === S.me) {
        S.early.set(id, query);
        setTimeout(() => S.early.delete(id), 5000);
      }
      return;
    }
    S.pending.delete(id);
    clearTimeout(pending.timer);
    pending.el.classList.remove("loading");
    if (query.text) {
      if (query.show_alert) showAlert(query.text);
      else showToast(query.text);
    } else if (query.url) {
      showToast("The bot answered with a link: " + query.url);
    }
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      showToast("Copied to the clipboard");
    } catch (e) {
      showToast(text);
    }
  }

  // ---------------------------------------------------------------- toast and alert

  let toastTimer = null;

  function showToast(text, isError) {
    els.toast.textContent = text;
    els.toast.dir = textDir(text);
    els.toast.classList.toggle("error", !!isError);
    els.toast.hidden = false;
    els.toast.classList.add("visible");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      els.toast.classList.remove("visible");
      els.toast.hidden = true;
    }, Math.min(6000, 2000 + text.length * 40));
  }

  function showAlert(text) {
    els.alertTitle.textContent = (S.bot && S.bot.first_name) || "Bot";
    els.alertText.textContent = text;
    els.alertText.dir = textDir(text);
    els.alert.hidden = false;
    els.alertOk.focus();
  }

  function closeAlert() {
    els.alert.hidden = true;
    els.input.focus();
  }

  // ---------------------------------------------------------------- commands menu

  async function loadCommands() {
    try {
      S.commands = await api("GET", "commands");
    } catch (e) {
      S.commands = [];
    }
  }

  function commandsFor(lang) {
    const isDefault = (entry) => entry.scope && entry.scope.type === "default";
    const exact = S.commands.find((e) => isDefault(e) && e.language_code === lang);
    const fallback = S.commands.find((e) => isDefault(e) && !e.language_code);
    return ((exact || fallback) || { commands: [] }).commands;
  }

  function renderCommands(filter) {
    const list = commandsFor(myLanguage()).filter((c) => !filter || ("/" + c.command).startsWith(filter));
    els.commandsMenu.textContent = "";
    if (!list.length) {
      closeCommands();
      return;
    }
    for (const c of list) {
      const item = document.createElement("button");
      item.type = "button";
      item.setAttribute("role", "menuitem");
      item.className = "command-item";
      item.dataset.command = c.command;
      const name = document.createElement("span");
      name.className = "command-name";
      name.textContent = "/" + c.command;
      const desc = document.createElement("span");
      desc.className = "command-desc";
      desc.textContent = c.description;
      desc.dir = textDir(c.description);
      item.append(name, desc);
      item.addEventListener("click", () => {
        els.input.value = "";
        autoGrow();
        sendText("/" + c.command);
      });
      els.commandsMenu.appendChild(item);
    }
    els.commandsMenu.hidden = false;
    els.commandsButton.setAttribute("aria-expanded", "true");
  }

  function closeCommands() {
    els.commandsMenu.hidden = true;
    els.commandsButton.setAttribute("aria-expanded", "false");
  }

  // ---------------------------------------------------------------- loading

  function saveLocation() {
    const hash = "#user=" + S.me + "&chat=" + S.chatId;
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  function readLocation() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    const user = Number(params.get("user"));
    const chat = Number(params.get("chat"));
    return { user: Number.isFinite(user) && user ? user : null, chat: Number.isFinite(chat) && chat ? chat : null };
  }

  async function loadDirectory() {
    const [users, chats] = await Promise.all([api("GET", "users"), api("GET", "chats")]);
    S.users = new Map(users.map((u) => [u.id, u]));
    S.chats = new Map(chats.map((c) => [c.id, c]));
    if (!S.users.has(S.me)) S.me = users.length ? users[0].id : null;
    const visible = myChats().map((c) => c.id);
    if (!visible.includes(S.chatId)) S.chatId = S.me;
  }

  async function loadPreviews() {
    await Promise.all(myChats().map(async (chat) => {
      try {
        const msgs = await api("GET", "chats/" + chat.id + "/messages");
        const last = msgs.filter((m) => !m.deleted).pop();
        if (last) S.previews.set(chat.id, snippet(last));
      } catch (e) { /* a chat without messages yet */ }
    }));
  }

  /** While a chat is being (re)loaded, message events wait, then apply on top of it. */
  async function busy(fn) {
    S.busy += 1;
    try {
      return await fn();
    } finally {
      S.busy -= 1;
      if (S.busy === 0 && S.loaded) {
        const queued = S.queue;
        S.queue = [];
        for (const ev of queued) applyMessageEvent(ev);
      }
    }
  }

  function loadChat() {
    return busy(loadChatNow);
  }

  async function loadChatNow() {
    const chatId = S.chatId;
    const msgs = S.me == null ? [] : await api("GET", "chats/" + chatId + "/messages");
    if (chatId !== S.chatId) return; // switched meanwhile
    S.messages = new Map(msgs.map((m) => [m.message_id, m]));
    S.unread.delete(chatId);
    renderHeader();
    renderChat();
    renderReplyKeyboard();
    pickPendingForceReply();
    renderChatList();
  }

  async function loadAll() {
    const page = await api("GET", "page");
    S.bot = page.bot;
    S.info = page.info || {};
    S.privacyMode = !!page.privacy_mode;
    if (S.info.title) document.title = S.info.title;
    const wanted = readLocation();
    if (wanted.user != null) S.me = wanted.user;
    if (wanted.chat != null) S.chatId = wanted.chat;
    await loadDirectory();
    await Promise.all([loadPreviews(), loadCommands()]);
    renderUserPicker();
    renderLangPicker();
    renderNotes();
    await loadChat();
    saveLocation();
    S.loaded = true;
    document.body.dataset.ready = "1";
  }

  function reload() {
    if (S.loading) return S.loading;
    S.loading = busy(loadAll)
      .catch((err) => showToast("Could not load: " + err.message, true))
      .finally(() => { S.loading = null; });
    return S.loading;
  }

  async function openChat(chatId) {
    S.chatId = chatId;
    clearReply();
    saveLocation();
    renderChatList();
    await loadChat();
    els.input.focus();
  }

  async function actAs(userId) {
    S.me = userId;
    const stayInGroup = S.chatId < 0 && myChats().some((c) => c.id === S.chatId);
    if (!stayInGroup) S.chatId = userId;
    clearReply();
    renderUserPicker();
    renderLangPicker();
    S.previews.clear();
    S.unread.clear();
    await loadPreviews();
    saveLocation();
    await loadChat();
    els.input.focus();
  }

  async function setLanguage(lang) {
    const user = me();
    if (!user) return;
    try {
      const updated = await api("POST", "users", { id: user.id, language_code: lang });
      S.users.set(updated.id, updated);
    } catch (err) {
      showToast("Could not change the language: " + err.message, true);
      return;
    }
    renderUserPicker();
    renderLangPicker();
    renderHeader();
    els.input.focus();
  }

  // ---------------------------------------------------------------- live events

  function onEvent(ev) {
    switch (ev.type) {
      case "hello": // first connection, or back after a break: (re)load what is shown
        reload();
        break;
      case "resync":
      case "reset":
        reload();
        break;
      case "directory":
        if (S.loaded) {
          loadDirectory().then(() => {
            renderUserPicker();
            renderLangPicker();
            renderChatList();
            renderHeader();
          }).catch(() => {});
        }
        break;
      case "message":
      case "edited":
      case "deleted":
        onMessageEvent(ev);
        break;
      case "callback_answer":
        onCallbackAnswer(ev.query);
        break;
      case "chat_action":
        if (ev.chat_id === S.chatId) showTyping(ev.action || "typing");
        break;
      default:
        break;
    }
  }

  function onMessageEvent(ev) {
    if (!ev.message) return;
    if (S.busy > 0 || !S.loaded) {
      S.queue.push(ev);
      return;
    }
    applyMessageEvent(ev);
  }

  function applyMessageEvent(ev) {
    const m = ev.message;
    if (!m.deleted) S.previews.set(m.chat_id, snippet(m));
    if (m.chat_id === S.chatId && S.loaded) {
      upsertMessage(m);
      if (ev.type === "message" && m.from_bot) {
        if (S.typingTimer) {
          clearTimeout(S.typingTimer);
          S.typingTimer = null;
          els.subtitle.classList.remove("typing");
          renderHeader();
        }
        if (forceReplyTargetsMe(m)) setReply(m.message_id, true);
      }
      if (ev.type === "deleted" && S.replyTo === m.message_id) clearReply();
      if (m.keyboard_markup) renderReplyKeyboard();
    } else if (ev.type === "message" && (m.from_bot || m.user_id !== S.me)) {
      const visible = myChats().some((c) => c.id === m.chat_id);
      if (visible) S.unread.set(m.chat_id, (S.unread.get(m.chat_id) || 0) + 1);
    }
    renderChatList();
  }

  function connect() {
    const source = new EventSource("/control/events?stream=1");
    source.onopen = () => {
      els.connection.textContent = "";
      els.connection.classList.remove("offline");
    };
    source.onerror = () => {
      els.connection.textContent = "reconnecting…";
      els.connection.classList.add("offline");
    };
    source.onmessage = (message) => {
      let ev;
      try {
        ev = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      onEvent(ev);
    };
  }

  // ---------------------------------------------------------------- wiring

  function autoGrow() {
    els.input.style.height = "auto";
    els.input.style.height = Math.min(els.input.scrollHeight, 160) + "px";
    els.input.dir = textDir(els.input.value) === "rtl" ? "rtl" : "auto";
  }

  els.userPicker.addEventListener("change", () => actAs(Number(els.userPicker.value)));
  window.addEventListener("hashchange", async () => {
    if (!S.loaded) return;
    const wanted = readLocation();
    if (wanted.user != null && wanted.user !== S.me && S.users.has(wanted.user)) await actAs(wanted.user);
    if (wanted.chat != null && wanted.chat !== S.chatId && myChats().some((c) => c.id === wanted.chat)) {
      await openChat(wanted.chat);
    }
  });
  for (const button of els.langPicker.querySelectorAll("button[data-lang]")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
  els.send.addEventListener("click", sendFromInput);
  els.input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      sendFromInput();
    } else if (ev.key === "Escape") {
      if (!els.commandsMenu.hidden) closeCommands();
      else clearReply();
    }
  });
  els.input.addEventListener("input", () => {
    autoGrow();
    const v = els.input.value;
    if (/^\/\w*$/.test(v)) renderCommands(v);
    else closeCommands();
  });
  els.replyCancel.addEventListener("click", () => { clearReply(); els.input.focus(); });
  els.commandsButton.addEventListener("click", async () => {
    if (!els.commandsMenu.hidden) { closeCommands(); return; }
    await loadCommands();
    renderCommands("");
    if (els.commandsMenu.hidden) showToast("The bot has not set any commands yet");
  });
  els.alertOk.addEventListener("click", closeAlert);
  els.alert.addEventListener("click", (ev) => { if (ev.target === els.alert) closeAlert(); });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !els.alert.hidden) closeAlert();
  });
  document.addEventListener("click", (ev) => {
    if (!els.commandsMenu.hidden && !els.commandsMenu.contains(ev.target) && ev.target !== els.commandsButton) {
      closeCommands();
    }
  });

  connect();
})();
