/* The shopper's report on the phone: works without a connection.
 *
 * - Registers the report's service worker (sw.js), which keeps the report's pages and assets so
 *   that the form opens again offline.
 * - Every change is kept on the phone first (offline.js, IndexedDB), then sent: the answers to
 *   the draft endpoint (each answer stored per item, last write wins, so sending twice changes
 *   nothing), photos and recordings one by one to the evidence endpoint, each with the id it was
 *   given when queued (the server stores a file once per id). What could not be sent waits, is
 *   counted on the page, and is sent when the connection returns (the "online" event and a
 *   timer).
 * - Reloaded offline, the page puts back what was entered, and lists the files waiting.
 * - "Save and continue" sends what waits first; offline it moves to the next step from the
 *   phone's copy.
 */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var store = window.MsOffline;
  if (!form || !store) { return; }
  var visit = Number(form.dataset.visit);
  var step = form.dataset.step;
  var last = Number(form.dataset.last);
  var statusLine = document.getElementById("autosave-status");
  var RETRY_MS = 15000;
  var SKIP = {csrfmiddlewaretoken: true, step: true, go: true};

  function show(text) { if (statusLine) { statusLine.textContent = text; } }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : all;
    });
  }

  function stepUrl(n) { return window.location.pathname + "?step=" + n; }

  /* The CSRF cookie is current even when the page came from the phone's copy. */
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) { return decodeURIComponent(match[1]); }
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  /* Answers of one item go together: item_7, item_7_na and item_7_comment are "item_7";
   * the check-in time goes with the location. */
  function groupOf(name) {
    if (/^item_\d+/.test(name)) { return name.match(/^item_\d+/)[0]; }
    if (name === "latitude" || name === "longitude") { return "checked_in_at"; }
    return name;
  }

  function isFileInput(element) { return element && element.type === "file"; }

  // --- The service worker --------------------------------------------------------------------

  function shellUrls() {
    var pages = [window.location.pathname];
    for (var n = 0; n <= last; n += 1) { pages.push(stepUrl(n)); }
    var assets = [];
    Array.prototype.forEach.call(
      document.querySelectorAll("link[rel~=stylesheet][href], link[rel~=icon][href], script[src]"),
      function (element) { assets.push(element.href || element.src); });
    return {pages: pages, assets: assets};
  }

  if ("serviceWorker" in navigator && form.dataset.swUrl && navigator.onLine) {
    navigator.serviceWorker.register(form.dataset.swUrl, {scope: form.dataset.swScope})
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function (registration) {
        var urls = shellUrls();
        if (registration.active) {
          registration.active.postMessage({type: "cache-shell", pages: urls.pages,
            assets: urls.assets});
        }
      })
      .catch(function () { /* no worker: the page still keeps answers on the phone */ });
  }

  // Logging out from this page: the worker forgets the pages it kept.
  Array.prototype.forEach.call(document.querySelectorAll("form[action*='logout']"),
    function (logout) {
      logout.addEventListener("submit", function () {
        if (navigator.serviceWorker && navigator.serviceWorker.controller) {
          navigator.serviceWorker.controller.postMessage({type: "forget"});
        }
      });
    });

  // --- The draft: a copy of each step, and what is not sent yet ------------------------------

  function snapshot() {
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || SKIP[element.name] || isFileInput(element) || element.disabled) {
        return;
      }
      if ((element.type === "radio" || element.type === "checkbox") && !element.checked) {
        return;
      }
      if (element.type === "submit" || element.type === "button") { return; }
      fields.push([element.name, element.value]);
    });
    return fields;
  }

  function restore(fields) {
    var values = {};
    fields.forEach(function (pair) {
      (values[pair[0]] = values[pair[0]] || []).push(pair[1]);
    });
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || SKIP[element.name] || isFileInput(element)) { return; }
      if (element.type === "submit" || element.type === "button") { return; }
      var given = values[element.name] || [];
      if (element.type === "radio" || element.type === "checkbox") {
        element.checked = given.indexOf(element.value) !== -1;
      } else if (given.length) {
        element.value = given[given.length - 1];
      }
    });
  }

  var dirtyGroups = {};
  var writing = Promise.resolve();

  /* Keep this step's fields on the phone, marking the groups changed since the last time. */
  function keep() {
    var groups = Object.keys(dirtyGroups);
    dirtyGroups = {};
    var fields = snapshot();
    writing = writing.then(function () {
      return store.updateDraft(visit, function (draft) {
        draft.steps[step] = fields;
        groups.forEach(function (group) {
          if (draft.dirty.indexOf(group) === -1) { draft.dirty.push(group); }
        });
        if (groups.length) { draft.changed = Date.now(); draft.rejected = 0; }
      });
    }).catch(function () { /* no storage: the form still posts as before */ });
    return writing;
  }

  // --- The queue's count on the page ---------------------------------------------------------

  function pending() {
    return Promise.all([store.getDraft(visit), store.filesFor(visit)]).then(function (both) {
      return {draft: both[0], files: both[1],
        count: (both[0].rejected ? 0 : both[0].dirty.length) + both[1].length};
    });
  }

  function showPending(sent) {
    return pending().then(function (state) {
      if (state.count === 1) {
        show(form.dataset.msgQueuedOne);
      } else if (state.count > 1) {
        show(fill(form.dataset.msgQueued, {n: state.count}));
      } else if (sent) {
        show(form.dataset.msgSaved);
      }
      renderQueued(state.files);
      return state;
    }).catch(function () { return null; });
  }

  function filesList(item) {
    return form.querySelector("ul.ms-files[data-item='" + (item || "") + "']");
  }

  function renderQueued(files) {
    Array.prototype.forEach.call(form.querySelectorAll("li.ms-queued"), function (li) {
      li.parentNode.removeChild(li);
    });
    files.forEach(function (file) {
      var list = filesList(file.item);
      if (!list) { return; }
      var li = document.createElement("li");
      li.className = "ms-queued";
      li.setAttribute("data-testid", "queued-file");
      li.setAttribute("data-client-id", file.id);
      var name = document.createElement("span");
      name.className = "ms-file-name";
      name.textContent = file.name;
      var state = document.createElement("span");
      state.className = "hint";
      state.textContent = " · " + form.dataset.msgWaiting;
      li.appendChild(name);
      li.appendChild(state);
      list.appendChild(li);
    });
  }

  function renderUploaded(file, answer) {
    var list = filesList(file.item);
    if (!list || list.querySelector("[data-evidence='" + answer.id + "']")) { return; }
    var li = document.createElement("li");
    li.setAttribute("data-evidence", answer.id);
    li.setAttribute("data-testid", "uploaded-file");
    var media;
    if (answer.kind === "photo") {
      media = document.createElement("img");
      media.className = "ms-thumb";
      media.alt = file.name;
    } else {
      media = document.createElement("audio");
      media.controls = true;
    }
    media.src = answer.url;
    li.appendChild(media);
    list.appendChild(li);
  }

  // --- Sending -------------------------------------------------------------------------------

  var OFFLINE = "offline";
  var LOGIN = "login";

  function post(url, body) {
    return fetch(url, {method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"}})
      .then(function (response) {
        var json = (response.headers.get("content-type") || "").indexOf("application/json") === 0;
        if (response.redirected || !json) { return {status: LOGIN}; }
        return response.json().then(function (data) {
          return {status: response.status, data: data};
        });
      }, function () { return {status: OFFLINE}; });
  }

  function sendDraft(draft) {
    if (!draft.dirty.length || draft.rejected) { return Promise.resolve("done"); }
    var groups = {};
    draft.dirty.forEach(function (group) { groups[group] = true; });
    var body = new FormData();
    Object.keys(draft.steps).forEach(function (key) {
      draft.steps[key].forEach(function (pair) {
        if (groups[groupOf(pair[0])]) { body.append(pair[0], pair[1]); }
      });
    });
    // A group with nothing to send (a choice taken back): nothing is sent for it either.
    var changed = draft.changed;
    return post(form.dataset.draftUrl, body).then(function (answer) {
      if (answer.status === OFFLINE || answer.status === LOGIN) { return answer.status; }
      if (answer.status === 403) { return LOGIN; }
      var sent = draft.dirty;
      return store.updateDraft(visit, function (current) {
        if (answer.status === 400) {
          current.rejected = changed;  // not again until the shopper changes something
          return;
        }
        // 200, or 404/409 (not this shopper's, or submitted): nothing more to send. Groups
        // changed while this was on its way stay to be sent.
        if (current.changed === changed) {
          current.dirty = current.dirty.filter(function (g) { return sent.indexOf(g) === -1; });
        }
      }).then(function () {
        if (answer.status === 400) { show(form.dataset.msgInvalid); return "invalid"; }
        return "done";
      });
    });
  }

  function sendFile(file) {
    var body = new FormData();
    body.append("client_id", file.id);
    body.append("item", file.item || "");
    body.append("file", file.blob, file.name);
    return post(form.dataset.evidenceUrl, body).then(function (answer) {
      if (answer.status === OFFLINE || answer.status === LOGIN) { return answer.status; }
      if (answer.status === 403) { return LOGIN; }
      if (answer.status === 200 || answer.status === 201) {
        renderUploaded(file, answer.data);
      } else {
        show(fill(form.dataset.msgRejected, {name: file.name}));
      }
      // Stored, or refused for good (not a photo, too large, the report submitted).
      return store.deleteFile(file.id).then(function () { return "done"; });
    });
  }

  var syncing = null;
  var following = null;

  function syncOnce() {
    return writing.then(function () { return pending(); }).then(function (state) {
      if (!state.count) { return "done"; }
      show(form.dataset.msgSending);
      return sendDraft(state.draft).then(function (result) {
        if (result === OFFLINE || result === LOGIN) { return result; }
        // One file at a time, in the order they were taken.
        return state.files.reduce(function (chain, file) {
          return chain.then(function (previous) {
            if (previous === OFFLINE || previous === LOGIN) { return previous; }
            return sendFile(file);
          });
        }, Promise.resolve(result));
      }).then(function (result) {
        return showPending(true).then(function () {
          if (result === LOGIN) { show(form.dataset.msgLogin); }
          return result;
        });
      });
    }).catch(function () { return OFFLINE; });
  }

  /* Send what waits, one sync at a time: a call while one runs gets a sync that starts when
   * it ends (what changed meanwhile is sent too). */
  function sync() {
    if (syncing) {
      if (!following) {
        following = syncing.then(function () {
          following = null;
          return sync();
        });
      }
      return following;
    }
    syncing = syncOnce().then(function (result) {
      syncing = null;
      return result;
    });
    return syncing;
  }

  // --- Events --------------------------------------------------------------------------------

  var timer = null;

  /* A change is kept on the phone at once (a reload or a lost signal loses nothing), and
   * sent when the shopper pauses. */
  function changed(element) {
    if (!element || !element.name || SKIP[element.name]) { return; }
    dirtyGroups[groupOf(element.name)] = true;
    keep();
    clearTimeout(timer);
    timer = setTimeout(function () {
      writing.then(function () {
        if (navigator.onLine) { sync(); } else { showPending(false); }
      });
    }, 400);
  }

  function queueFiles(input) {
    var item = (input.name.match(/^evidence_(\d+)$/) || [])[1] || "";
    var files = Array.prototype.slice.call(input.files || []);
    writing = writing.then(function () {
      return Promise.all(files.map(function (file) {
        return store.addFile(visit, item ? Number(item) : "", file);
      }));
    }).then(function () {
      input.value = "";  // the queue sends it; the form must not send it a second time
    }).catch(function () { /* no storage: the file goes with "save and continue" */ });
    return writing.then(function () {
      if (navigator.onLine) { return sync(); }
      return showPending(false);
    });
  }

  form.addEventListener("input", function (event) {
    if (!isFileInput(event.target)) { changed(event.target); }
  });
  form.addEventListener("change", function (event) {
    if (isFileInput(event.target)) { queueFiles(event.target); } else { changed(event.target); }
  });

  var leaving = false;

  function submitNatively(go) {
    leaving = true;
    var field = form.querySelector("input[type=hidden][name=go]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "go";
      form.appendChild(field);
    }
    field.value = go;
    HTMLFormElement.prototype.submit.call(form);
  }

  function moveOffline(go) {
    if (go === "submit") { show(form.dataset.msgOfflineSubmit); return; }
    var target = Number(step) + (go === "back" ? -1 : 1);
    window.location.href = stepUrl(Math.max(0, Math.min(last, target)));
  }

  // "Save and continue": what waits on the phone goes first, then the step as before.
  form.addEventListener("submit", function (event) {
    if (leaving) { return; }
    event.preventDefault();
    var go = event.submitter && event.submitter.name === "go" ? event.submitter.value : "next";
    clearTimeout(timer);
    keep().then(function () {
      if (!navigator.onLine) { return OFFLINE; }
      return sync();
    }).then(function (result) {
      if (result === OFFLINE) {
        showPending(false).then(function () { moveOffline(go); });
        return;
      }
      if (go === "submit" && result === "done") {
        // Everything is on the server; the report leaves the phone with its submission.
        return store.deleteDraft(visit).catch(function () { return null; })
          .then(function () { submitNatively(go); });
      }
      submitNatively(go);
    }, function () { submitNatively(go); });
  });

  window.addEventListener("online", function () { sync(); });
  setInterval(function () { if (navigator.onLine) { sync(); } }, RETRY_MS);

  // On opening: what this phone holds for the visit. Offline, or with answers not sent yet,
  // the phone's copy of this step is put back into the form; otherwise the server's answers
  // (just rendered) are the phone's new copy.
  store.getDraft(visit).then(function (draft) {
    var fields = draft.steps[step];
    if (fields && (!navigator.onLine || draft.dirty.length)) { restore(fields); }
    return keep();
  }).then(function () {
    return navigator.onLine ? sync() : showPending(false);
  }).catch(function () { /* no storage */ });

  // --- Location ------------------------------------------------------------------------------

  var lat = document.getElementById("id_latitude");
  var lon = document.getElementById("id_longitude");
  if (lat && lon && !lat.value && navigator.geolocation) {
    navigator.geolocation.getCurrentPosition(function (position) {
      lat.value = position.coords.latitude.toFixed(6);
      lon.value = position.coords.longitude.toFixed(6);
      var note = document.getElementById("location-status");
      if (note) { note.textContent = form.dataset.msgLocation; }
      changed(lat);
    }, function () { /* no location: the check-in time is enough */ }, {timeout: 10000});
  }
}());
