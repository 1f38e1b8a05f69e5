// Research groups (网络研修共同体) and review sessions (评课活动): one card per group with
// its members, shared lessons and sessions. The lead adds members (found through
// /api/v1/groups/{id}/candidates), removes them, shares recordings and starts sessions;
// the other members see the same card read-only. Every change goes through the groups
// API; its refusals ({"error", "message"}, already in the page's language) show in the
// alert box. User text goes into the page with textContent only.
"use strict";

(() => {
  const TEXT = JSON.parse(document.getElementById("groups-text").textContent);
  const CONFIG = JSON.parse(document.getElementById("groups-config").textContent);
  const $ = (id) => document.getElementById(id);
  const me = CONFIG.me || { user_id: null, may_create: false };
  const lessons = new Map((CONFIG.recordings || []).map((r) => [r.recording, r]));
  const shareable = (CONFIG.recordings || []).filter((r) => r.state === "ready");
  let sessions = CONFIG.sessions || [];
  const cards = new Map(); // group id → card
  const SEARCH_DELAY_MS = 300;
  const BEIJING_MS = 8 * 3600 * 1000; // China keeps one zone, no daylight saving

  // ---- helpers ---------------------------------------------------------------------

  function T(key, values) {
    let text = TEXT[key] || key;
    for (const [name, value] of Object.entries(values || {})) text = text.replaceAll(`{${name}}`, value);
    return text;
  }

  // An element; strings among the children become text nodes, never markup.
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
    return node;
  }

  function say(box, text) {
    box.hidden = !text;
    box.textContent = text || "";
  }

  const alertBox = $("groups-error");
  const statusBox = $("groups-status");

  function failed(error) {
    say(statusBox, "");
    say(alertBox, error.message);
  }

  function succeeded(text) {
    say(alertBox, "");
    say(statusBox, text);
  }

  class RequestFailed extends Error {}

  // The sentence a person can act on: the API's message (already in the page's language).
  function problemText(body, status) {
    if (body && typeof body.message === "string" && body.message) return body.message;
    if (body && Array.isArray(body.detail) && body.detail.length) return body.detail.map((d) => d.msg || String(d)).join("；");
    if (status === 401) return T("review.error.login");
    if (status === 403) return T("review.error.forbidden");
    return T("review.error.server", { status });
  }

  async function request(url, method, body) {
    const init = { method: method || "GET", credentials: "same-origin", headers: { accept: "application/json" } };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      throw new RequestFailed(T("review.error.network"));
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new RequestFailed(problemText(data, response.status));
    return data;
  }

  // A button busy while its request runs (no double submissions on a slow line).
  async function busy(button, work) {
    button.disabled = true;
    try {
      return await work();
    } catch (error) {
      failed(error);
      return null;
    } finally {
      button.disabled = false;
    }
  }

  // "2026-03-09 23:59" in Beijing time, from an ISO 8601 time with its offset.
  function beijing(iso) {
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return iso;
    return new Date(ms + BEIJING_MS).toISOString().slice(0, 16).replace("T", " ");
  }

  const today = () => new Date(Date.now() + BEIJING_MS).toISOString().slice(0, 10);

  function lessonLabel(recording, n) {
    const row = lessons.get(recording);
    if (!row) return T("review.groups.lesson_n", { n });
    return `${row.subject} · ${T("review.grade", { grade: row.grade })} · ${row.teacher} · ${row.day}`;
  }

  const reviewLink = (recording, n) =>
    el("a", { href: `/review/${encodeURIComponent(recording)}` }, lessonLabel(recording, n));

  const groupApi = (group) => `/api/v1/groups/${encodeURIComponent(group.id)}`;

  // A list of checkboxes, one per recording; returns the fieldset and a reader of the ticks.
  function picker(legend, recordings, name) {
    const box = el("fieldset", { class: "pick" }, el("legend", {}, legend));
    recordings.forEach((recording, i) => {
      const input = el("input", { type: "checkbox", name, value: recording });
      box.append(el("label", { class: "check" }, input, el("span", {}, lessonLabel(recording, i + 1))));
    });
    const chosen = () => [...box.querySelectorAll("input:checked")].map((input) => input.value);
    return { box, chosen };
  }

  // ---- one group's card ------------------------------------------------------------

  function makeCard(initial) {
    let group = initial;
    const id = `group-${group.id}`;
    const title = el("h2", { id: `${id}-name` });
    const role = el("span", { class: "badge role" });
    const node = el("section", { class: "card group", id, "data-group": group.id, "aria-labelledby": `${id}-name` },
      el("header", { class: "group-head" }, title, role));
    const membersHead = el("h3");
    const members = el("ul", { class: "members" });
    const sharedHead = el("h3");
    const shared = el("ul", { class: "shared" });
    const sharePart = el("div", { class: "share-part" });
    const sessionsHead = el("h3");
    const sessionsPart = el("div", { class: "sessions-part" });
    const sessionForm = el("div", { class: "session-part" });
    const memberCol = el("div", { class: "col" }, membersHead, members);
    const sharedCol = el("div", { class: "col" }, sharedHead, shared, sharePart);
    node.append(el("div", { class: "group-grid" }, memberCol, sharedCol), sessionsHead, sessionsPart, sessionForm);
    if (group.may_change) memberCol.append(addMemberForm());
    else node.append(el("p", { class: "muted readonly" }, T("review.groups.readonly")));

    function set(next) {
      group = { ...group, ...next };
      render();
    }

    function render() {
      title.textContent = group.name;
      const lead = group.members.find((m) => m.lead);
      role.textContent = lead && lead.user_id === me.user_id ? T("review.groups.you_lead")
        : T("review.groups.lead_is", { name: lead ? lead.name : "—" });
      membersHead.textContent = T("review.groups.members", { n: group.members.length });
      members.replaceChildren(...group.members.map(memberItem));
      sharedHead.textContent = T("review.groups.shared", { n: group.recordings.length });
      shared.replaceChildren(...group.recordings.map((r, i) => el("li", {}, reviewLink(r, i + 1))));
      if (!group.recordings.length) shared.append(el("li", { class: "muted" }, T("review.groups.shared_none")));
      if (group.may_change) {
        sharePart.replaceChildren(shareForm());
        sessionForm.replaceChildren(newSessionForm());
      }
      renderSessions();
    }

    function memberItem(member) {
      const mine = member.user_id === me.user_id;
      const item = el("li", { "data-user": member.user_id },
        el("span", { class: "name" }, member.name),
        mine ? el("span", { class: "muted" }, T("review.groups.me")) : null,
        member.lead ? el("span", { class: "badge lead" }, T("review.groups.lead")) : null);
      if (group.may_change && !member.lead) {
        item.append(el("button", {
          type: "button", class: "small-button remove",
          "aria-label": T("review.groups.remove_label", { name: member.name }),
          onclick: (event) => remove(member, event.currentTarget),
        }, T("review.groups.remove")));
      }
      return item;
    }

    async function remove(member, button) {
      if (!window.confirm(T("review.groups.remove_confirm", { name: member.name }))) return;
      const next = await busy(button, () =>
        request(`${groupApi(group)}/members/${encodeURIComponent(member.user_id)}`, "DELETE"));
      if (!next) return;
      set(next);
      succeeded(T("review.groups.removed", { name: member.name }));
    }

    // search → candidates → 添加
    function addMemberForm() {
      const input = el("input", { type: "search", id: `${id}-search`, class: "candidate-search", maxlength: "64",
        autocomplete: "off", placeholder: T("review.groups.search_placeholder") });
      const find = el("button", { type: "submit" }, T("review.groups.search"));
      const results = el("ul", { class: "candidates", "aria-live": "polite" });
      let asked = 0;
      let timer = null;

      async function search() {
        clearTimeout(timer);
        const ticket = ++asked;
        results.replaceChildren(el("li", { class: "muted" }, T("review.groups.searching")));
        let found;
        try {
          found = await request(`${groupApi(group)}/candidates?q=${encodeURIComponent(input.value.trim())}`);
        } catch (error) {
          if (ticket === asked) results.replaceChildren();
          failed(error);
          return;
        }
        if (ticket !== asked) return; // a later search answers instead
        say(alertBox, "");
        results.replaceChildren(...found.map(candidate));
        if (!found.length) results.append(el("li", { class: "muted" }, T("review.groups.candidates_none")));
      }

      function candidate(account) {
        const add = el("button", {
          type: "button", class: "small-button add",
          "aria-label": T("review.groups.add_label", { name: account.name }),
          onclick: async () => {
            const next = await busy(add, () => request(`${groupApi(group)}/members`, "POST", { user_id: account.user_id }));
            if (!next) return;
            set(next);
            input.value = ""; // ready for the next person
            results.replaceChildren();
            succeeded(T("review.groups.added", { name: account.name }));
            input.focus();
          },
        }, T("review.groups.add_submit"));
        const item = el("li", { "data-user": account.user_id },
          el("span", { class: "name" }, account.name),
          el("span", { class: "muted" }, `${account.username} · ${T(`role.${account.role}`)}`), add);
        return item;
      }

      input.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(search, SEARCH_DELAY_MS);
      });
      const form = el("form", { class: "add-member", role: "search", onsubmit: (event) => { event.preventDefault(); search(); } },
        el("label", { for: `${id}-search` }, T("review.groups.add")),
        el("div", { class: "row" }, input, find));
      return el("div", { class: "add-part" }, form, results);
    }

    function shareForm() {
      const left = shareable.filter((r) => !group.recordings.includes(r.recording));
      if (!shareable.length) return el("p", { class: "muted" }, T("review.groups.share_nothing"));
      if (!left.length) return el("div");
      const pick = picker(T("review.groups.share"), left.map((r) => r.recording), `${id}-share`);
      const submit = el("button", { type: "submit" }, T("review.groups.share_submit"));
      return el("form", {
        class: "share", onsubmit: async (event) => {
          event.preventDefault();
          const chosen = pick.chosen();
          if (!chosen.length) return failed(new RequestFailed(T("review.groups.share_choose")));
          const next = await busy(submit, () => request(`${groupApi(group)}/recordings`, "POST", { recordings: chosen }));
          if (!next) return;
          set(next);
          succeeded(T("review.groups.shared_done", { n: chosen.length }));
        },
      }, pick.box, submit);
    }

    function newSessionForm() {
      const titleInput = el("input", { name: "title", maxlength: "100", id: `${id}-session-title`,
        placeholder: T("review.groups.session_title_placeholder") });
      const deadline = el("input", { type: "date", name: "deadline", id: `${id}-session-deadline`, min: today() });
      const submit = el("button", { type: "submit", class: "go" }, T("review.groups.session_submit"));
      const pick = group.recordings.length
        ? picker(T("review.groups.session_lessons"), group.recordings, `${id}-session-lessons`)
        : null;
      if (!pick) submit.disabled = true;
      return el("details", { class: "new-session", open: sessionsOf(group).length === 0 && group.recordings.length > 0 },
        el("summary", {}, T("review.groups.session_new")),
        el("form", {
          class: "session", autocomplete: "off", onsubmit: async (event) => {
            event.preventDefault();
            const chosen = pick ? pick.chosen() : [];
            if (!chosen.length) return failed(new RequestFailed(T("review.groups.session_choose")));
            const made = await busy(submit, () => request(`${groupApi(group)}/sessions`, "POST",
              { title: titleInput.value, deadline: deadline.value, recordings: chosen }));
            if (!made) return;
            event.target.reset();
            event.target.closest("details").open = false;
            await reloadSessions();
            succeeded(T("review.groups.session_created", { title: made.title }));
          },
        },
        el("div", { class: "fields" },
          el("label", { for: titleInput.id }, T("review.groups.session_title"), titleInput),
          el("label", { for: deadline.id }, T("review.groups.session_deadline"), deadline)),
        pick ? pick.box : el("p", { class: "muted" }, T("review.groups.session_lessons_none")),
        submit));
    }

    function renderSessions() {
      const mine = sessionsOf(group);
      sessionsHead.textContent = T("review.groups.sessions", { n: mine.length });
      if (!mine.length) {
        sessionsPart.replaceChildren(el("p", { class: "muted" }, T("review.groups.sessions_none")));
        return;
      }
      const head = ["session", "deadline", "state", "lessons", "progress"].map((k) => el("th", { scope: "col" }, T(`review.groups.${k}`)));
      const rows = mine.map((s) => el("tr", { "data-session": s.id, class: s.open ? "open" : "closed" },
        el("td", {}, s.title),
        el("td", { class: "when" }, beijing(s.deadline)),
        el("td", {}, el("span", { class: `badge ${s.open ? "open" : "closed"}` }, T(s.open ? "review.groups.open" : "review.groups.closed"))),
        el("td", { class: "recs" }, ...s.recordings.map((r, i) => reviewLink(r, i + 1))),
        el("td", {}, el("span", { class: `badge ${s.done ? "done" : "undone"}` }, T(s.done ? "review.groups.done" : "review.groups.undone")))));
      sessionsPart.replaceChildren(el("table", { class: "grid sessions" },
        el("thead", {}, el("tr", {}, ...head)), el("tbody", {}, ...rows)));
    }

    render();
    return { node, renderSessions };
  }

  const sessionsOf = (group) => sessions.filter((s) => s.group_id === group.id);

  async function reloadSessions() {
    try {
      sessions = await request("/api/v1/sessions");
    } catch (error) {
      failed(error);
      return;
    }
    for (const card of cards.values()) card.renderSessions();
  }

  // ---- the page --------------------------------------------------------------------

  const list = $("groups");

  function showEmpty() {
    if (!cards.size) list.replaceChildren(el("p", { class: "card muted empty" }, list.dataset.empty));
  }

  function addCard(group) {
    if (!cards.size) list.replaceChildren();
    const card = makeCard(group);
    cards.set(group.id, card);
    list.append(card.node);
    return card;
  }

  for (const group of CONFIG.groups || []) addCard(group);
  showEmpty();

  const create = $("create-group");
  if (create) {
    const name = $("group-name");
    const submit = create.querySelector("button[type=submit]");
    create.addEventListener("submit", async (event) => {
      event.preventDefault();
      const made = await busy(submit, () => request("/api/v1/groups", "POST", { name: name.value }));
      if (!made) return;
      const card = addCard({ ...made, may_change: true }); // its creator leads it
      name.value = "";
      succeeded(T("review.groups.created", { name: made.name }));
      card.node.scrollIntoView({ block: "start" });
      const search = card.node.querySelector(".candidate-search");
      if (search) search.focus({ preventScroll: true });
    });
  }
})();
