// The replay page of autograd_lite (see replay.py): DATA holds every step of the sweep,
// worked out in Python; this script only shows step i. Nothing is fetched.
(function () {
  "use strict";
  var DATA = /*DATA*/null;
  var page = document.getElementById("ag-replay");
  var last = DATA.steps.length - 1;
  var timer = null;

  function norm(s) { return s.replace(/\u00a0/g, " ").trim(); }

  function findText(group, text) {  // the <text> of a node or edge that reads `text`
    var found = group ? group.getElementsByTagName("text") : [];
    for (var i = 0; i < found.length; i++) {
      if (norm(found[i].textContent) === text) { return found[i]; }
    }
    return null;
  }

  function latest(events, i) {  // the value of the last event [step, value] at or before i
    var v;
    for (var j = 0; j < events.length && events[j][0] <= i; j++) { v = events[j][1]; }
    return v;
  }

  var drawn = {};  // key -> {group, grad}: the node's <g> and its grad line
  DATA.nodes.forEach(function (n) {
    var group = n.id ? document.getElementById(n.id) : null;
    var grad = findText(group, n.pad);
    if (grad) { grad.classList.add("ag-grad"); }
    drawn[n.key] = {group: group, grad: grad};
  });
  var edges = Object.keys(DATA.edges).map(function (id) {  // each with its step k lines
    var e = DATA.edges[id], group = document.getElementById(id);
    var line = findText(group, e.pad);
    if (line) { line.classList.add("ag-line"); }
    return {group: group, line: line, texts: e.texts};
  });
  function passed(n, i) { return n.step !== null && n.step < i; }

  function toggle(el, name, on) { if (el) { el.classList.toggle(name, on); } }

  function showPicture(i) {
    var now = DATA.steps[i].node;
    DATA.nodes.forEach(function (n) {
      var d = drawn[n.key], text = latest(n.texts, i);
      if (d.grad) { d.grad.textContent = text; }
      toggle(d.group, "ag-current", n.key === now);
      if (n.key === now && d.group && d.group.scrollIntoView) {
        d.group.scrollIntoView({block: "nearest", inline: "nearest"});
      }
      toggle(d.group, "ag-done", !DATA.naive && passed(n, i));
      toggle(d.group, "ag-ready", !DATA.naive && !passed(n, i) && n.key !== now &&
             text.indexOf("\u2713") >= 0);
    });
    edges.forEach(function (e) {
      var text = latest(e.texts, i);
      if (e.line) {
        e.line.style.visibility = text === undefined ? "hidden" : "visible";
        if (text !== undefined) { e.line.textContent = text; }
      }
      toggle(e.group, "ag-active", e.texts.some(function (t) { return t[0] === i; }));
    });
  }

  function showPanel(i) {
    var s = DATA.steps[i];
    page.querySelector(".ag-step-title").textContent = s.title;
    var ul = page.querySelector(".ag-step-lines");
    ul.textContent = "";
    s.lines.forEach(function (t) {
      var li = document.createElement("li");
      li.textContent = t;
      ul.appendChild(li);
    });
    var kink = page.querySelector(".ag-kink");
    kink.hidden = !s.kink;
    kink.textContent = s.kink || "";
    var body = page.querySelector(".ag-ledger tbody");
    body.textContent = "";
    DATA.nodes.forEach(function (n) {
      var tr = document.createElement("tr");
      if (n.key === DATA.steps[i].node) { tr.className = "ag-current"; }
      var cells = [n.key, "", latest(n.texts, i).replace(/^grad /, "")];
      cells.forEach(function (t) {
        var td = document.createElement("td");
        td.textContent = t;
        tr.appendChild(td);
      });
      n.ledger.forEach(function (entry) {
        if (entry[0] > i) { return; }
        var div = document.createElement("div");
        div.textContent = entry[1];
        if (entry[0] === i) { div.className = "ag-new"; }
        tr.children[1].appendChild(div);
      });
      body.appendChild(tr);
    });
  }

  function goto(i) {
    i = Math.max(0, Math.min(last, Math.round(Number(i)) || 0));
    api.current = i;
    showPicture(i);
    showPanel(i);
    page.querySelector(".ag-slider").value = String(i);
    page.querySelector(".ag-counter").textContent = "step " + i + " / " + last;
    if (i === last) { pause(); }
    return i;
  }

  function speed() { return Number(page.querySelector(".ag-speed").value) || 1200; }

  function pause() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    page.querySelector('[data-action="play"]').textContent = "\u25B6 play";
  }

  function play() {
    pause();
    if (api.current === last) { goto(0); }
    timer = setInterval(function () { goto(api.current + 1); }, speed());
    page.querySelector('[data-action="play"]').textContent = "\u275A\u275A pause";
  }

  function state() {  // for each node: {grad: the sum so far or null, done: passed on}
    var out = {};
    DATA.nodes.forEach(function (n) {
      var g = latest(n.events, api.current);
      out[n.key] = {grad: g === undefined ? null : g,
                    done: n.step !== null && n.step <= api.current};
    });
    return out;
  }

  var api = {
    steps: DATA.steps, current: 0, goto: goto, state: state, play: play, pause: pause,
    next: function () { return goto(api.current + 1); },
    prev: function () { return goto(api.current - 1); },
    reset: function () { pause(); return goto(0); },
    playing: function () { return timer !== null; }
  };
  var actions = {next: api.next, prev: api.prev, reset: api.reset,
                 play: function () { if (timer === null) { play(); } else { pause(); } }};

  page.querySelectorAll("[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      var act = button.getAttribute("data-action");
      if (act !== "play") { pause(); }
      actions[act]();
      button.blur();  // keys go to the page again, not to the button
    });
  });
  page.querySelector(".ag-slider").addEventListener("input", function (e) {
    pause();
    goto(e.target.value);
  });
  page.querySelector(".ag-speed").addEventListener("change", function () {
    if (timer !== null) { play(); }
  });
  page.querySelector(".ag-fit").addEventListener("change", function (e) {
    page.querySelector(".ag-picture").classList.toggle("ag-fitted", e.target.checked);
  });
  document.addEventListener("keydown", function (e) {
    var tag = e.target && e.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || e.altKey || e.ctrlKey || e.metaKey) { return; }
    var keys = {ArrowRight: api.next, ArrowLeft: api.prev, Home: api.reset,
                End: function () { goto(last); }, " ": actions.play};
    var act = keys[e.key];
    if (act) {
      e.preventDefault();
      if (e.key !== " ") { pause(); }
      act();
    }
  });

  window.autogradLite = api;
  goto(0);
})();
