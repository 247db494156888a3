/* roadmap-qa widget: <script src="https://YOUR-SERVER/widget.js" data-title="..." data-position="right|left"
   data-open="false"></script> adds a launcher that opens the roadmap chat in a panel. It loads nothing from
   anywhere but the server in its own src, keeps its styles in a shadow root, shows every text as text, and keeps
   the conversation in this site's localStorage so it survives a page reload. Keyboard: the launcher opens it with
   the focus in the question box, Escape closes it and gives the focus back; loading the page never moves the focus. */
(function () {
  "use strict";
  var script = document.currentScript || (function () {
    var all = document.querySelectorAll('script[src*="widget.js"]');
    return all[all.length - 1];
  })();
  if (!script || window.__roadmapQaWidget) return;
  window.__roadmapQaWidget = true;

  var src = new URL(script.src, document.baseURI);
  var server = src.origin + src.pathname.replace(/\/widget\.js$/, "");
  var opts = {
    title: script.getAttribute("data-title") || "ML roadmap assistant",
    position: script.getAttribute("data-position") === "left" ? "left" : "right",
    open: script.getAttribute("data-open") === "true",
  };
  var storeKey = "roadmap-qa-widget:" + server;

  function load() {
    try {
      var s = JSON.parse(localStorage.getItem(storeKey) || "null");
      if (s && Array.isArray(s.messages)) return s;
    } catch (e) { /* unreadable storage: start afresh */ }
    return { messages: [], open: opts.open };
  }
  var state = load();
  function save() {
    try { localStorage.setItem(storeKey, JSON.stringify({ messages: state.messages.slice(-60), open: state.open })); }
    catch (e) { /* storage full or blocked: the chat still works for this page */ }
  }

  // Markdown for answers, after escaping every character of HTML: bold, italics, numbered and bulleted lines.
  function esc(t) {
    return String(t).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function inline(t) {
    return esc(t).replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>").replace(/\*(.+?)\*/g, "<em>$1</em>");
  }
  function markdown(text) {
    var out = [], list = null;
    String(text).split("\n").forEach(function (line) {
      var m = line.match(/^\s*(\d+)\.\s+(.*)$/), b = line.match(/^\s*[-*]\s+(.*)$/);
      var kind = m ? "ol" : b ? "ul" : null;
      if (list && list !== kind) { out.push("</" + list + ">"); list = null; }
      if (kind && !list) { out.push("<" + kind + ">"); list = kind; }
      if (m) out.push("<li>" + inline(m[2]) + "</li>");
      else if (b) out.push("<li>" + inline(b[1]) + "</li>");
      else if (line.trim()) out.push("<p>" + inline(line) + "</p>");
    });
    if (list) out.push("</" + list + ">");
    return out.join("");
  }

  var host = document.createElement("div");
  host.id = "roadmap-qa-widget";
  var root = host.attachShadow({ mode: "open" });
  var side = opts.position;
  root.innerHTML =
    "<style>" +
    ":host{all:initial}" +
    ".launcher{position:fixed;bottom:20px;" + side + ":20px;z-index:2147483000;width:56px;height:56px;border-radius:50%;" +
    "border:0;background:#6d28d9;color:#fff;font:600 22px system-ui,sans-serif;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25)}" +
    ".panel{position:fixed;bottom:88px;" + side + ":20px;z-index:2147483000;width:min(380px,calc(100vw - 24px));" +
    "height:min(560px,calc(100vh - 110px));display:none;flex-direction:column;background:#fff;color:#1f2937;" +
    "border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.28);font:14px/1.45 system-ui,sans-serif;overflow:hidden}" +
    ".panel.open{display:flex}" +
    "header{display:flex;align-items:center;justify-content:space-between;padding:10px 14px;background:#6d28d9;color:#fff;font-weight:600}" +
    "header button{background:none;border:0;color:#fff;font-size:20px;cursor:pointer;min-width:32px}header .new{font-size:13px;text-decoration:underline}header .actions{display:flex;gap:4px;align-items:center}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}" +
    ".msg{padding:8px 11px;border-radius:10px;max-width:92%;word-wrap:break-word;white-space:normal}" +
    ".msg p{margin:0 0 6px}.msg p:last-child{margin:0}.msg ol,.msg ul{margin:4px 0 6px 18px;padding:0}" +
    ".user{align-self:flex-end;background:#ede9fe;white-space:pre-wrap}.bot{align-self:flex-start;background:#f3f4f6}" +
    ".bot.unsure{background:#fff7ed}" +
    ".chips{display:flex;flex-wrap:wrap;gap:5px;margin-top:6px}.chips span{font-size:12px;color:#374151;width:100%}.chips em{font-size:12px;color:#374151;align-self:center}" +
    ".chips button,.starters button{border:1px solid #c4b5fd;background:#fff;color:#5b21b6;border-radius:12px;padding:4px 10px;font-size:13px;min-height:32px;cursor:pointer;text-align:left}" +
    ".starters{display:flex;flex-direction:column;align-items:flex-start;gap:6px}" +
    "@media (pointer:coarse){.chips button,.starters button,form button,header button{min-height:44px}}" +
    "button:focus-visible,input:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e5e7eb}" +
    "input{flex:1;padding:8px 10px;border:1px solid #6b7280;border-radius:8px;font:16px/1.3 system-ui,sans-serif;min-width:0}" +
    "form button{border:0;background:#6d28d9;color:#fff;border-radius:8px;padding:0 14px;font:inherit;cursor:pointer}form button[disabled]{background:#4b5563;cursor:wait}" +
    ".hint{color:#4b5563;font-size:13px;margin:0}" +
    "</style>" +
    "<button class='launcher' type='button' aria-expanded='false' aria-controls='rqa-panel'>?</button>" +
    "<section class='panel' id='rqa-panel' role='dialog' aria-labelledby='rqa-title'><header>" +
    "<span class='title' id='rqa-title'></span><span class='actions'>" +
    "<button type='button' class='new'>New conversation</button>" +
    "<button type='button' class='close' aria-label='Close'>&times;</button></span></header>" +
    "<div class='log' role='log' aria-live='polite'></div>" +
    "<form><label class='sr' for='rqa-q'>Your question</label>" +
    "<input id='rqa-q' name='q' autocomplete='off' maxlength='2000' placeholder='Ask about the ML roadmap...'>" +
    "<button type='submit'>Ask</button></form></section>";

  var panel = root.querySelector(".panel");
  var log = root.querySelector(".log");
  var form = root.querySelector("form");
  var input = root.querySelector("input");
  var send = root.querySelector("form button");
  var launcher = root.querySelector(".launcher");
  root.querySelector(".title").textContent = opts.title;

  // `focus`: only when the learner acted (a click or a key), never when the page loads.
  function setOpen(open, focus) {
    state.open = open;
    panel.classList.toggle("open", open);
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    launcher.setAttribute("aria-label", (open ? "Close " : "Open ") + opts.title);
    save();
    if (focus) (open ? input : launcher).focus();
  }
  launcher.addEventListener("click", function () { setOpen(!state.open, true); });
  root.querySelector(".close").addEventListener("click", function () { setOpen(false, true); });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); setOpen(false, true); }
  });
  root.querySelector(".new").addEventListener("click", function () {
    if (busy) return;
    state.messages = [];
    save();
    log.textContent = "";
    greet();
    input.focus();
  });

  var CAP = 8;  // as many as the answer's text lists, then "N more"
  function chips(label, topics) {
    if (!topics || !topics.length) return null;
    var box = document.createElement("div");
    box.className = "chips";
    var l = document.createElement("span");
    l.textContent = label;
    box.appendChild(l);
    topics.slice(0, CAP).forEach(function (t) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = t.title;
      b.addEventListener("click", function () { ask("What is " + t.title + "?"); });
      box.appendChild(b);
    });
    if (topics.length > CAP) {
      var more = document.createElement("em");
      more.textContent = "and " + (topics.length - CAP) + " more";
      box.appendChild(more);
    }
    return box;
  }

  function render(m) {
    var div = document.createElement("div");
    if (m.role === "user") {
      div.className = "msg user";
      div.textContent = m.text;
    } else {
      div.className = "msg bot" + (m.confident === false ? " unsure" : "");
      div.innerHTML = markdown(m.text);
      var before = chips("Learn first:", m.prerequisites), after = chips("Learn next:", m.next_topics);
      if (before) div.appendChild(before);
      if (after) div.appendChild(after);
    }
    log.appendChild(div);
    if (m.role === "user") {
      log.scrollTop = log.scrollHeight;
    } else {  // show an answer from its start, not its end
      log.scrollTop += div.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
    }
  }

  var starters = null;  // the server's starter questions, fetched once
  function greet() {
    var p = document.createElement("p");
    p.className = "hint";
    p.textContent = "Ask about any topic on the road to ML engineering: what it is, what to learn before or after it.";
    log.appendChild(p);
    var box = document.createElement("div");
    box.className = "starters";
    log.appendChild(box);
    function show(list) {
      list.slice(0, 4).forEach(function (q) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = q;
        b.addEventListener("click", function () { ask(q); });
        box.appendChild(b);
      });
    }
    if (starters) return show(starters);
    fetch(server + "/api/starters").then(function (r) { return r.ok ? r.json() : []; })
      .then(function (list) { starters = Array.isArray(list) ? list : []; show(starters); })
      .catch(function () { /* no starters: the box still works */ });
  }

  var busy = false;
  function setBusy(b) {
    busy = b;
    send.disabled = b;
    send.textContent = b ? "..." : "Ask";
    send.setAttribute("aria-label", b ? "Answering, please wait" : "Ask");
  }
  // Returns whether the question was sent; while one is in flight, nothing is sent and the typed text stays.
  function ask(q) {
    q = (q || "").trim();
    if (!q || busy) return false;
    setBusy(true);
    var starterBox = log.querySelector(".starters");
    if (starterBox) starterBox.remove();
    var history = state.messages.filter(function (m) { return m.role === "user"; }).map(function (m) { return m.text; });
    var mine = { role: "user", text: q };
    state.messages.push(mine);
    render(mine);
    save();
    fetch(server + "/api/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ q: q, history: history.slice(-20) }),
    })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body && body.detail ? body.detail : "HTTP " + r.status);
          return body;
        });
      })
      .then(function (a) {
        return { role: "bot", text: a.answer, confident: a.confident, prerequisites: a.prerequisites, next_topics: a.next_topics };
      })
      .catch(function (e) { return { role: "bot", text: "Sorry, no answer right now (" + e.message + ").", confident: false }; })
      .then(function (m) {
        state.messages.push(m);
        render(m);
        save();
        setBusy(false);
      });
    return true;
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (ask(input.value)) input.value = "";
  });

  function start() {
    document.body.appendChild(host);
    if (state.messages.length) state.messages.forEach(render);
    else greet();
    setOpen(state.open, false);
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
