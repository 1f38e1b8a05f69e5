// Reviewing a lesson recording (评课), the notes: time-coded comments and replies, the
// comment form, the rubric scores and clips. review.js (the player) calls
// window.sankeReviewNotes with what these need of it, and then notes.start().
"use strict";

window.sankeReviewNotes = (player) => {
  const { T, el, $, clock, parseClock, recall, remember, say, request, message, pct, seek, toggle,
    lessonTime, CONFIG, api, me, groups, rubric, CATEGORIES, duration, long, drawHooks } = player;
  // ---- comments ----------------------------------------------------------------------

  let comments = [];
  const categoryOf = (c) => (CATEGORIES.includes(c.category) ? c.category : "note");
  const itemOf = (id) => (rubric.items || []).find((item) => item.id === id) || null;
  const groupName = (id) => (groups.find((g) => g.id === id) || {}).name || "";
  const groupById = (value) => groups.find((g) => String(g.id) === value) || null;
  const spanOf = (c) => (c.until !== null && c.until !== undefined ? `${clock(c.at, long)}–${clock(c.until, long)}` : clock(c.at, long));

  function visibilityText(c) {
    if (c.visibility === "group" && groupName(c.group)) return T("review.visibility.group_named", { name: groupName(c.group) });
    return T(`review.visibility.${c.visibility}`);
  }

  function sortComments() {
    comments.sort((a, b) => a.at - b.at || String(a.created_at).localeCompare(String(b.created_at)));
  }

  function drawComments() {
    $("comments-count").textContent = `(${comments.length})`;
    const list = $("comments");
    if (!comments.length) list.replaceChildren(el("li", { class: "empty muted" }, T("review.comments.none")));
    else list.replaceChildren(...comments.map(commentItem));
    drawMarkers();
  }

  function commentItem(c) {
    const category = categoryOf(c);
    const item = c.rubric_item ? itemOf(c.rubric_item) : null;
    const level = item && (item.scale || []).find((v) => v.value === c.value);
    const at = el("button", { type: "button", class: "at link", title: T("review.comments.seek") }, spanOf(c));
    at.addEventListener("click", () => { seek(c.at); highlight(c.id, false); });
    const remove = c.mine ? el("button", { type: "button", class: "delete link" }, T("review.comments.delete")) : null;
    if (remove) remove.addEventListener("click", () => removeComment(c));
    const head = el("div", { class: "comment-head" }, at,
      el("span", { class: `chip cat-${category}` }, T(`review.category.${category}`)),
      el("span", { class: "author" }, c.author ? c.author.name : ""),
      el("span", { class: `visibility vis-${c.visibility}`, title: visibilityText(c) }, T(`review.visibility.short.${c.visibility}`)),
      remove);
    const scored = item && c.value !== null && c.value !== undefined
      ? el("div", { class: "rubric-ref" }, level
        ? T("review.comments.rubric", { item: item.label, value: c.value, label: level.label })
        : T("review.comments.rubric_plain", { item: item.label, value: c.value }))
      : null;
    const replies = el("ol", { class: "replies" }, ...(c.replies || []).map((r) => el("li", {},
      el("span", { class: "author" }, r.author ? r.author.name : ""), " ", el("span", { class: "text" }, r.text))));
    const node = el("li", { class: `comment cat-${category}`, "data-id": c.id }, head, scored,
      el("p", { class: "text" }, c.text), replies, me.can_review ? replyForm(c) : null);
    return node;
  }

  function replyForm(c) {
    const input = el("input", { type: "text", maxlength: 2000, placeholder: T("review.reply.placeholder"), "aria-label": T("review.reply.placeholder") });
    const error = el("div", { class: "error", role: "alert", hidden: "" });
    const form = el("form", { class: "reply-form", novalidate: "" }, input,
      el("button", { type: "submit", class: "small-button" }, T("review.reply.submit")), error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return say(error, T("review.form.error.text"));
      try {
        const reply = await request(`${api}/comments/${encodeURIComponent(c.id)}/replies`, "POST", { text });
        c.replies = [...(c.replies || []), reply];
        const old = document.querySelector(`#comments .comment[data-id="${CSS.escape(String(c.id))}"]`);
        if (old) old.replaceWith(commentItem(c));
      } catch (failure) {
        say(error, failure.message);
      }
    });
    return form;
  }

  async function removeComment(c) {
    if (!window.confirm(T("review.comments.delete_confirm"))) return;
    try {
      await request(`${api}/comments/${encodeURIComponent(c.id)}`, "DELETE");
      comments = comments.filter((other) => other.id !== c.id);
      drawComments();
    } catch (failure) {
      say(message, failure.message);
    }
  }

  function drawMarkers() {
    $("markers").replaceChildren(...comments.map((c) => {
      const range = c.until !== null && c.until !== undefined;
      const category = categoryOf(c);
      const marker = el("button", { type: "button", class: `marker ${range ? "range" : "dot"} cat-${category}`, "data-id": c.id,
        title: T("review.marker.title", { time: spanOf(c), category: T(`review.category.${category}`), text: String(c.text || "").slice(0, 80) }) });
      marker.style.left = pct(c.at);
      if (range) marker.style.width = pct(c.until - c.at);
      marker.addEventListener("click", (event) => {
        event.stopPropagation();
        seek(c.at);
        highlight(c.id, true);
      });
      return marker;
    }));
  }

  function highlight(id, scroll) {
    showTab("comments");
    const key = String(id);
    for (const node of document.querySelectorAll("#comments .comment, #markers .marker")) {
      node.classList.toggle("highlight", node.dataset.id === key);
    }
    const item = document.querySelector(`#comments .comment[data-id="${CSS.escape(key)}"]`);
    if (item && scroll) item.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  async function loadComments() {
    try {
      comments = (await request(`${api}/comments`)) || [];
      sortComments();
      drawComments();
    } catch (failure) {
      comments = [];
      drawComments();
      say(message, T("review.error.comments", { detail: failure.message }));
    }
  }

  // ---- the comment form ------------------------------------------------------------------

  const form = $("comment-form");
  const atInput = $("comment-at");
  const untilInput = $("comment-until");
  const textInput = $("comment-text");
  const itemSelect = $("comment-item");
  const valueSelect = $("comment-value");
  const visibilitySelect = $("comment-visibility");
  const groupSelect = $("comment-group");
  const formError = $("form-error");
  // "at" follows the playhead until the reviewer starts writing (or sets it), then stays.
  let atPinned = false;
  let atValue = 0;
  let untilValue = null;

  function showAt(t) {
    atValue = t;
    atInput.value = clock(t, long);
  }

  function pinAt(t) {
    showAt(t);
    atPinned = true;
  }

  // The typed time, or the exact time behind it when the field still shows it.
  const timeOf = (input, exact) => (exact !== null && input.value === clock(exact, long) ? exact : parseClock(input.value));

  $("comment-category").replaceChildren(...CATEGORIES.map((c) => el("option", { value: c }, T(`review.category.${c}`))));
  itemSelect.append(...(rubric.items || []).map((item) => el("option", { value: item.id }, item.label)));
  itemSelect.disabled = !(rubric.items || []).length;
  itemSelect.addEventListener("change", () => {
    const item = itemOf(itemSelect.value);
    valueSelect.replaceChildren(...(item ? [el("option", { value: "" }, T("review.form.value_choose")),
      ...(item.scale || []).map((v) => el("option", { value: v.value }, `${v.value} · ${v.label}`))] : []));
    valueSelect.disabled = !item;
    $("comment-value-field").hidden = !item;
  });
  groupSelect.replaceChildren(...groups.map((g) => el("option", { value: g.id }, g.name)));
  visibilitySelect.querySelector('option[value="group"]').disabled = !groups.length;
  const remembered = recall("sanke.review.visibility");
  visibilitySelect.value = remembered && (remembered !== "group" || groups.length) ? remembered : groups.length ? "group" : "me";
  const rememberedGroup = recall("sanke.review.group");
  if (rememberedGroup && groupById(rememberedGroup)) groupSelect.value = rememberedGroup;
  const showGroup = () => { $("comment-group-field").hidden = visibilitySelect.value !== "group"; };
  visibilitySelect.addEventListener("change", showGroup);
  showGroup();

  $("comment-now").addEventListener("click", () => pinAt(lessonTime()));
  atInput.addEventListener("input", () => { atPinned = true; });
  $("comment-mark-end").addEventListener("click", () => {
    untilValue = lessonTime();
    untilInput.value = clock(untilValue, long);
  });
  untilInput.addEventListener("input", () => { untilValue = null; });
  textInput.addEventListener("input", () => {
    if (!atPinned) pinAt(lessonTime());
    $("comment-count").textContent = `${textInput.value.length}/2000`;
  });

  // The body to POST, or the sentence saying what is missing.
  function readForm() {
    const at = timeOf(atInput, atValue);
    const until = untilInput.value.trim() ? timeOf(untilInput, untilValue) : null;
    const text = textInput.value.trim();
    if (!Number.isFinite(at) || at < 0 || at > duration + 1) return T("review.form.error.at");
    if (until !== null && !Number.isFinite(until)) return T("review.form.error.until");
    if (until !== null && until <= at) return T("review.form.error.until_order");
    if (!text) return T("review.form.error.text");
    if (text.length > 2000) return T("review.form.error.too_long");
    const body = { at: Math.round(at * 10) / 10, category: $("comment-category").value, text, visibility: visibilitySelect.value };
    if (until !== null) body.until = Math.round(until * 10) / 10;
    if (body.visibility === "group") {
      const group = groupById(groupSelect.value);
      if (!group) return T("review.form.error.group");
      body.group = group.id;
    }
    if (itemSelect.value) {
      if (!valueSelect.value) return T("review.form.error.value");
      body.rubric_item = itemSelect.value;
      body.value = Number(valueSelect.value);
    }
    return body;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(formError, "");
    const body = readForm();
    if (typeof body === "string") return say(formError, body);
    const submit = $("comment-submit");
    submit.disabled = true;
    try {
      const created = await request(`${api}/comments`, "POST", body);
      comments.push(created);
      sortComments();
      drawComments();
      highlight(created.id, true);
      remember("sanke.review.visibility", body.visibility);
      if (body.group !== undefined) remember("sanke.review.group", String(body.group));
      textInput.value = "";
      $("comment-count").textContent = "0/2000";
      untilInput.value = "";
      untilValue = null;
      itemSelect.value = "";
      itemSelect.dispatchEvent(new Event("change"));
      atPinned = false;
      showAt(lessonTime());
    } catch (failure) {
      say(formError, failure.message);
    } finally {
      submit.disabled = false;
    }
  });

  if (!me.can_review) {
    form.hidden = true;
    $("comment-readonly").hidden = false;
  }

  // ---- scores (评分量表) ---------------------------------------------------------------

  const scoreInputs = {};

  function drawScoreForm(scale, mine) {
    $("rubric-name").textContent = scale.name || "";
    if (!(scale.items || []).length) {
      $("score-items").replaceChildren(el("p", { class: "muted" }, T("review.scores.no_rubric")));
      $("scores-save").hidden = true;
      return;
    }
    $("score-items").replaceChildren(...scale.items.map((item) => {
      scoreInputs[item.id] = (item.scale || []).map((v) => el("input", { type: "radio", name: `score-${item.id}`, value: v.value,
        checked: mine[item.id] === v.value ? "" : null }));
      return el("fieldset", { class: "score-item", "data-item": item.id }, el("legend", {}, item.label),
        ...(item.scale || []).map((v, i) => el("label", {}, scoreInputs[item.id][i], el("strong", {}, String(v.value)), ` ${v.label}`)));
    }));
  }

  function drawScoreTable(data) {
    const items = (data.rubric || rubric).items || [];
    const number = (value, digits) => (value === null || value === undefined ? "—" : Number(value).toFixed(digits));
    const head = el("tr", {}, el("th", {}, T("review.scores.reviewer")), ...items.map((item) => el("th", { class: "num", title: item.label }, item.label)),
      el("th", { class: "num" }, T("review.scores.total")));
    const rows = (data.reviewers || []).map((r) => el("tr", { class: r.complete ? "" : "incomplete" },
      el("td", {}, r.name, r.complete ? null : el("span", { class: "muted" }, ` ${T("review.scores.incomplete")}`)),
      ...items.map((item) => el("td", { class: "num" }, number((r.scores || {})[item.id], 0))),
      el("td", { class: "num" }, `${number(r.total, 0)} / ${number(r.max, 0)}`)));
    const average = data.average || {};
    const foot = el("tr", { class: "average" }, el("th", {}, T("review.scores.average", { n: average.reviewers || 0 })),
      ...items.map((item) => el("td", { class: "num" }, number((average.per_item || {})[item.id], 1))),
      el("td", { class: "num" }, number(average.total, 1)));
    const body = rows.length ? rows : [el("tr", {}, el("td", { colspan: items.length + 2, class: "muted" }, T("review.scores.none")))];
    $("scores-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...body), el("tfoot", {}, foot));
  }

  async function loadScores() {
    try {
      const data = await request(`${api}/scores`);
      drawScoreForm(data.rubric || rubric, data.mine || {});
      drawScoreTable(data);
    } catch (failure) {
      say($("scores-result"), failure.message);
    }
  }

  $("scores-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const scores = {};
    for (const [item, inputs] of Object.entries(scoreInputs)) {
      const checked = inputs.find((input) => input.checked);
      if (checked) scores[item] = Number(checked.value);
    }
    const result = $("scores-result");
    if (!Object.keys(scores).length) {
      result.className = "error";
      return say(result, T("review.scores.empty"));
    }
    try {
      const data = await request(`${api}/scores`, "PUT", { scores });
      drawScoreTable(data);
      result.className = "ok";
      say(result, T("review.scores.saved"));
    } catch (failure) {
      result.className = "error";
      say(result, failure.message);
    }
  });
  if (!me.can_review) $("scores-form").hidden = true;

  // ---- clips (剪辑片段) -------------------------------------------------------------------

  let clips = CONFIG.clips || [];
  let clipStart = null;
  let clipEnd = null;
  let pollTimer = null;
  let pollUntil = 0;
  const clipError = $("clip-error");

  $("clip-group").append(...groups.map((g) => el("option", { value: g.id }, g.name)));
  $("clip-set-start").addEventListener("click", () => { clipStart = lessonTime(); $("clip-start").textContent = clock(clipStart, long); });
  $("clip-set-end").addEventListener("click", () => { clipEnd = lessonTime(); $("clip-end").textContent = clock(clipEnd, long); });

  function drawClips() {
    const list = $("clips");
    if (!clips.length) return list.replaceChildren(el("li", { class: "muted" }, T("review.clip.none")));
    list.replaceChildren(...clips.map((clip) => {
      const state = ["queued", "ready", "failed"].includes(clip.state) ? clip.state : "queued";
      const jump = el("button", { type: "button", class: "at link" }, `${clock(clip.start, long)}–${clock(clip.end, long)}`);
      jump.addEventListener("click", () => seek(clip.start));
      return el("li", { class: `clip clip-${state}`, "data-id": clip.id },
        el("strong", {}, clip.title), " ", jump, " ",
        el("span", { class: `badge clip-${state}` }, T(`review.clip.state.${state}`)),
        clip.author ? el("span", { class: "muted" }, ` ${typeof clip.author === "object" ? clip.author.name : clip.author}`) : null,
        state === "ready" && clip.url ? el("a", { href: clip.url, target: "_blank", rel: "noopener", class: "open" }, T("review.clip.open")) : null);
    }));
  }

  async function refreshClips() {
    if (!clips.some((c) => c.state === "queued") || Date.now() > pollUntil) {
      clearInterval(pollTimer);
      pollTimer = null;
      return;
    }
    try {
      clips = (await request(`${api}/clips`)) || [];
      drawClips();
    } catch (failure) { /* the next poll tries again */ }
  }

  // While a clip is being cut: ask every 5 s, for 5 minutes at most.
  function poll() {
    pollUntil = Date.now() + 5 * 60 * 1000;
    if (!pollTimer) pollTimer = setInterval(refreshClips, 5000);
  }

  $("clip-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    say(clipError, "");
    const title = $("clip-title").value.trim();
    if (clipStart === null || clipEnd === null) return say(clipError, T("review.clip.error.marks"));
    if (clipEnd <= clipStart) return say(clipError, T("review.clip.error.order"));
    if (!title) return say(clipError, T("review.clip.error.title"));
    const body = { start: Math.round(clipStart * 10) / 10, end: Math.round(clipEnd * 10) / 10, title };
    const group = groupById($("clip-group").value);
    if (group) body.group = group.id;
    const submit = $("clip-submit");
    submit.disabled = true;
    try {
      const clip = await request(`${api}/clips`, "POST", body);
      clips = [clip, ...clips.filter((c) => c.id !== clip.id)];
      drawClips();
      $("clip-title").value = "";
      poll();
    } catch (failure) {
      say(clipError, failure.message);
    } finally {
      submit.disabled = false;
    }
  });
  if (!me.can_review) $("clip-form").hidden = true;

  function showTab(name) {
    for (const tab of document.querySelectorAll('.tabs [role="tab"]')) {
      const selected = tab.id === `tab-${name}`;
      tab.setAttribute("aria-selected", String(selected));
      $(tab.getAttribute("aria-controls")).hidden = !selected;
    }
  }
  for (const tab of document.querySelectorAll('.tabs [role="tab"]')) tab.addEventListener("click", () => showTab(tab.id.slice(4)));

  drawHooks.push((t) => { if (!atPinned) showAt(t); });

  return {
    get comments() { return comments; },
    start() {
      drawClips();
      if (clips.some((c) => c.state === "queued")) poll();
      loadComments();
      loadScores();
    },
  };
};
