// derivcheck serve: the live check page. Talks to /api/preview, /api/check, /api/grade.
// Text from the server goes into the page as text (textContent); MathML (sanitized by the
// server) is parsed as XML and imported, never assigned with innerHTML.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const MATHML_NS = "http://www.w3.org/1998/Math/MathML";

  function mathNode(markup) {
    if (!markup) return null;
    const doc = new DOMParser().parseFromString(markup, "application/xml");
    if (doc.getElementsByTagName("parsererror").length) return null;
    const root = doc.documentElement;
    if (root.namespaceURI !== MATHML_NS) return null;
    return document.importNode(root, true);
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  async function postJSON(url, body) {
    const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                                body: JSON.stringify(body)});
    let data = null;
    try { data = await r.json(); } catch (e) { data = {error: "the server sent no JSON (" + r.status + ")"}; }
    if (!r.ok && !data.error) data.error = "HTTP " + r.status;
    return data;
  }

  // ---------------------------------------------------------------- staff question page
  document.querySelectorAll("td.stmt[data-mathml]").forEach((td) => {
    const node = mathNode(td.getAttribute("data-mathml"));
    if (node) { td.replaceChildren(node); }
  });

  const dataEl = $("questions-data");
  if (!dataEl) return;
  const QUESTIONS = JSON.parse(dataEl.textContent);
  const byId = Object.fromEntries(QUESTIONS.map((q) => [q.question, q]));

  const HINTS = {
    expression: "LaTeX, e.g. F_{12} - W_p F_1. A left side such as \\dot{W}_p = ... is allowed.",
    matrix: "LaTeX, e.g. \\begin{pmatrix} 1 & \\alpha \\\\ -\\alpha & 1 \\end{pmatrix}, or any expression whose value is the matrix.",
    point: "A tuple or column vector, e.g. (0, 0).",
    set: "A YAML list, e.g. [1 + i\\alpha, 1 - i\\alpha].",
    choice: "One option label.",
    choices: "A YAML list of option labels, e.g. [a, c].",
    mapping: "A YAML mapping, e.g. {shape: invariant, color: sensitive}.",
    derivation: "One step per line: a full relation (lhs = rhs) or a continuation that starts with =, \\leq or \\geq.",
    text: "Free text: graded by a person.",
    code: "Python source: graded by a person.",
    unavailable: "This question cannot be checked (it depends on a figure the sheets do not include).",
  };

  // ---------------------------------------------------------------- picking a question
  const aSel = $("assignment"), qSel = $("question"), answer = $("answer");

  function fillQuestions() {
    const a = aSel.value;
    qSel.replaceChildren(...QUESTIONS.filter((q) => q.assignment === a)
      .map((q) => el("option", {value: q.question}, q.number + " (" + q.kind + ")")));
  }

  function current() { return byId[qSel.value]; }

  function showQuestion() {
    const q = current();
    if (!q) return;
    $("q-id").textContent = q.question;
    $("q-kind").textContent = q.kind;
    $("q-points").textContent = q.points + " points";
    $("q-ask").textContent = q.ask || "";
    $("q-notation").textContent = q.notation ? "Notation: " + q.notation : "";
    const opts = q.options ? "Options: " + q.options.join(", ") : "";
    $("q-options").textContent = opts + (q.keys ? (opts ? "; " : "") + "keys: " + q.keys.join(", ") : "");
    $("answer-hint").textContent = HINTS[q.kind] || "";
    answer.rows = q.kind === "derivation" ? 8 : 3;
    const url = new URL(window.location);
    url.searchParams.set("q", q.question);
    history.replaceState(null, "", url);
    clearVerdict();
    $("preview").replaceChildren(el("span", {class: "muted"}, "type an answer"));
    if (answer.value.trim()) schedule();
  }

  // ---------------------------------------------------------------- the answer as sent
  function answerValue() {
    const q = current();
    if (q && q.kind === "derivation") {
      return answer.value.split("\n").map((s) => s.trim()).filter((s) => s.length);
    }
    return answer.value;
  }

  // ---------------------------------------------------------------- preview
  let previewByIndex = {};

  function renderPreview(data) {
    previewByIndex = {};
    for (const item of (data && data.items) || []) previewByIndex[item.index ?? 0] = item;
    const box = $("preview");
    box.replaceChildren();
    if (data.error && !(data.items && data.items.length)) {
      box.append(el("p", {class: "bad"}, data.error));
      return;
    }
    if (!data.items || !data.items.length) {
      box.append(el("span", {class: "muted"}, data.note || "no preview for this kind of answer"));
      return;
    }
    const steps = data.kind === "derivation";
    for (const item of data.items) {
      const row = el("div", {class: "pv-item" + (item.error ? " pv-error" : ""), "data-index": item.index ?? 0});
      if (steps) row.append(el("span", {class: "pv-n"}, (item.index + 1) + "."));
      if (item.error) {
        row.append(el("div", {class: "bad"}, "cannot read: " + item.error.message));
        if (item.error.pointer) row.append(el("pre", {class: "pointer"}, item.error.pointer));
      } else if (item.readings) {
        if (item.readings.length > 1) row.append(el("div", {class: "warn"}, "ambiguous: " + item.readings.length + " readings"));
        for (const rd of item.readings) {
          const m = mathNode(rd.mathml);
          const r = el("div", {class: "pv-reading"}, m || el("code", {}, rd.latex));
          if (rd.how) r.append(el("div", {class: "muted small"}, rd.how));
          row.append(r);
        }
        if (item.note) row.append(el("div", {class: "muted small"}, item.note));
      }
      box.append(row);
    }
  }

  // ---------------------------------------------------------------- verdict
  function clearVerdict() {
    $("verdict").textContent = "";
    $("verdict").className = "verdict";
    $("score").textContent = "";
    $("elapsed").textContent = "";
    $("message").textContent = "";
    $("steps").hidden = true;
    $("steps").querySelector("tbody").replaceChildren();
    $("staff-box").hidden = true;
  }

  function cexText(c) {
    if (!c) return "";
    if (typeof c === "string") return c;
    const parts = [];
    if (c.instance) parts.push("at " + Object.entries(c.instance).map(([k, v]) => k + " = " + v).join(", "));
    for (const k of Object.keys(c)) {
      if (k !== "instance") parts.push(k + ": " + (typeof c[k] === "object" ? JSON.stringify(c[k]) : c[k]));
    }
    return parts.join("; ");
  }

  function renderVerdict(r) {
    clearVerdict();
    if (r.error) {
      $("verdict").textContent = "error";
      $("verdict").className = "verdict v-error";
      $("message").textContent = r.error;
      return;
    }
    $("verdict").textContent = r.verdict;
    $("verdict").className = "verdict v-" + r.verdict;
    $("score").textContent = r.score + " / " + r.max_score;
    $("elapsed").textContent = "(" + Math.round((r.elapsed_s || 0) * 1000) + " ms)";
    $("message").textContent = r.message;
    const steps = (r.details && r.details.steps) || [];
    if (steps.length) {
      const tb = $("steps").querySelector("tbody");
      for (const s of steps) {
        const wrong = r.first_wrong_step !== null && r.first_wrong_step !== undefined && s.index === r.first_wrong_step;
        const why = el("td", {}, s.message || "");
        if (s.counterexample && !(s.message || "").includes("instance")) {
          why.append(el("div", {class: "small"}, "counterexample: " + cexText(s.counterexample)));
        }
        if (s.confirmed_by) why.append(el("div", {class: "muted small"}, "checked by " + s.confirmed_by));
        const pv = previewByIndex[s.index];
        const shown = pv && pv.readings && pv.readings.length ? mathNode(pv.readings[0].mathml) : null;
        tb.append(el("tr", {class: "step s-" + s.verdict + (wrong ? " first-wrong" : ""), "data-index": s.index},
          el("td", {}, s.index + 1), el("td", {class: "st", title: s.text || ""}, shown || el("code", {}, s.text || "")),
          el("td", {class: "sv"}, s.verdict + (wrong ? " (first wrong step)" : "")), why));
      }
      $("steps").hidden = false;
    }
    if (r.staff) {
      $("staff-json").textContent = JSON.stringify(r.staff, null, 1);
      $("staff-box").hidden = false;
    }
  }

  // ---------------------------------------------------------------- as you type
  let timer = null, seq = 0;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(run, 350);
  }

  async function run() {
    const q = current();
    if (!q) return;
    const value = answerValue();
    const my = ++seq;
    const empty = Array.isArray(value) ? !value.length : !value.trim();
    if (empty) {
      clearVerdict();
      $("preview").replaceChildren(el("span", {class: "muted"}, "type an answer"));
      document.body.dataset.state = "idle";
      return;
    }
    document.body.dataset.state = "checking";
    $("verdict-box").classList.add("busy");
    const body = {question: q.question, answer: value};
    const [pv, res] = await Promise.all([
      postJSON("/api/preview", body).catch(() => ({error: "no connection to the server"})),
      postJSON("/api/check", body).catch(() => ({error: "no connection to the server"})),
    ]);
    if (my !== seq) return; // a newer answer is on its way
    $("verdict-box").classList.remove("busy");
    renderPreview(pv);
    renderVerdict(res);
    document.body.dataset.state = "done";
    document.body.dataset.seq = String(my);
  }

  aSel.addEventListener("change", () => { fillQuestions(); showQuestion(); });
  qSel.addEventListener("change", showQuestion);
  answer.addEventListener("input", schedule);

  const wanted = new URL(window.location).searchParams.get("q");
  if (wanted && byId[wanted]) aSel.value = byId[wanted].assignment;
  fillQuestions();
  if (wanted && byId[wanted]) qSel.value = wanted;
  showQuestion();

  // ---------------------------------------------------------------- upload and grade
  let lastReport = null, lastUpload = null;

  function download(name, type, text) {
    const a = el("a", {href: URL.createObjectURL(new Blob([text], {type})), download: name});
    document.body.append(a);
    a.click();
    a.remove();
  }

  $("grade-file").addEventListener("change", async (ev) => {
    const f = ev.target.files[0];
    if (!f) return;
    $("grade-result").hidden = true;
    $("grade-status").textContent = "grading " + f.name + " ...";
    const data = await f.arrayBuffer();
    let rep;
    try {
      const r = await fetch("/api/grade?name=" + encodeURIComponent(f.name), {method: "POST", body: data,
        headers: {"Content-Type": "application/octet-stream"}});
      rep = await r.json();
    } catch (e) {
      rep = {error: "no connection to the server"};
    }
    if (rep.error && !rep.results) {
      $("grade-status").textContent = "error: " + (typeof rep.error === "string" ? rep.error : rep.error.message);
      return;
    }
    lastReport = rep;
    lastUpload = {name: f.name, data: data};
    const warns = (rep.warnings || []).map((w) => w.message);
    $("grade-status").textContent = rep.results.length + " questions graded." +
      (warns.length ? " Warnings: " + warns.join(" | ") : "");
    $("grade-student").textContent = rep.student;
    $("grade-score").textContent = rep.score + " / " + rep.max_score;
    const tb = $("grade-table").querySelector("tbody");
    tb.replaceChildren(...rep.results.map((r) => el("tr", {class: "v-" + r.verdict},
      el("td", {}, el("code", {}, r.question)), el("td", {class: "sv"}, r.verdict),
      el("td", {}, r.score + " / " + r.max_score),
      el("td", {}, r.message + (r.first_wrong_step !== null && r.first_wrong_step !== undefined
        ? " (first wrong step: " + (r.first_wrong_step + 1) + ")" : "")))));
    $("grade-result").hidden = false;
  });
  $("download-json").addEventListener("click", () => lastReport &&
    download("grades.json", "application/json", JSON.stringify(lastReport, null, 1)));
  $("download-csv").addEventListener("click", async () => {
    if (!lastUpload) return;
    // the CSV is the grader's own (derivcheck grade --format csv): the server renders it
    const r = await fetch("/api/grade?format=csv&name=" + encodeURIComponent(lastUpload.name),
      {method: "POST", body: lastUpload.data, headers: {"Content-Type": "application/octet-stream"}});
    download("grades.csv", "text/csv", await r.text());
  });
})();
