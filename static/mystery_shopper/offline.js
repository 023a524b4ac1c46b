/* The mystery shopper's report kept on the phone (IndexedDB) while there is no connection.
 *
 * Two stores, both keyed by visit:
 * - "drafts": one record per visit, {visit, steps: {step: [[name, value], ...]}, dirty: [group,
 *   ...], changed}. ``steps`` mirrors what each step of the form showed last (restored when the
 *   page is reloaded offline); ``dirty`` names the answers and fields not sent yet.
 * - "files": one record per queued photo or recording, {id (a UUID made here, sent as the
 *   upload's client_id), visit, item, name, type, blob, added}.
 *
 * window.MsOffline: a few promise-returning functions; report.js decides what to do.
 */
(function () {
  "use strict";
  var DB_NAME = "mystery-shopper-report";
  var DB_VERSION = 1;
  var opening = null;

  function open() {
    if (opening) { return opening; }
    opening = new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var request = window.indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains("drafts")) {
          db.createObjectStore("drafts", {keyPath: "visit"});
        }
        if (!db.objectStoreNames.contains("files")) {
          db.createObjectStore("files", {keyPath: "id"}).createIndex("visit", "visit");
        }
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
    opening.catch(function () { opening = null; });
    return opening;
  }

  /* Run ``work(store)`` in one transaction; resolves with what work's last request gave. */
  function run(storeName, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(storeName, mode);
        var result;
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
        work(tx.objectStore(storeName), function (value) { result = value; });
      });
    });
  }

  function emptyDraft(visit) {
    return {visit: visit, steps: {}, dirty: [], changed: 0};
  }

  function getDraft(visit) {
    return run("drafts", "readonly", function (store, done) {
      var request = store.get(visit);
      request.onsuccess = function () { done(request.result || emptyDraft(visit)); };
    });
  }

  /* Read, change and write a visit's draft in one transaction: ``change(draft)`` edits it. */
  function updateDraft(visit, change) {
    return run("drafts", "readwrite", function (store, done) {
      var request = store.get(visit);
      request.onsuccess = function () {
        var draft = request.result || emptyDraft(visit);
        change(draft);
        store.put(draft);
        done(draft);
      };
    });
  }

  function deleteDraft(visit) {
    return run("drafts", "readwrite", function (store) { store.delete(visit); });
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
      hex.slice(20)].join("-");
  }

  function addFile(visit, item, file) {
    var record = {id: newId(), visit: visit, item: item, name: file.name || "file",
      type: file.type || "", blob: file, added: Date.now()};
    return run("files", "readwrite", function (store, done) {
      store.put(record);
      done(record);
    });
  }

  function filesFor(visit) {
    return run("files", "readonly", function (store, done) {
      var request = store.index("visit").getAll(visit);
      request.onsuccess = function () {
        done(request.result.sort(function (a, b) { return a.added - b.added; }));
      };
    });
  }

  function deleteFile(id) {
    return run("files", "readwrite", function (store) { store.delete(id); });
  }

  window.MsOffline = {
    getDraft: getDraft, updateDraft: updateDraft, deleteDraft: deleteDraft,
    addFile: addFile, filesFor: filesFor, deleteFile: deleteFile
  };
}());
