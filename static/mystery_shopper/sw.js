/* The mystery shopper's report, offline: a service worker served at /mystery-shopper/sw.js
 * (mystery_shopper.views.service_worker), so its scope is /mystery-shopper/.
 *
 * It keeps two kinds of answers, and nothing else:
 * - GETs of a report page (/mystery-shopper/visits/<id>/report/?step=N): network first, the
 *   copy kept for when there is no connection. A page that no longer answers 200 (logged out,
 *   report submitted, not this user's) empties the cache: nothing is kept after a logout.
 * - GETs under /static/: network first too (names are not hashed in development).
 * The answers, notes and files the shopper enters offline are not here: report.js keeps them
 * in IndexedDB (offline.js) and sends them when the connection returns.
 */
"use strict";

var CACHE = "ms-report-v1";
var REPORT_PAGE = /^\/mystery-shopper\/visits\/\d+\/report\/$/;

function sameOrigin(url) { return url.origin === self.location.origin; }
function isReportPage(url) { return sameOrigin(url) && REPORT_PAGE.test(url.pathname); }
function isStatic(url) { return sameOrigin(url) && url.pathname.indexOf("/static/") === 0; }

function forgetAll() { return caches.delete(CACHE); }

self.addEventListener("install", function () { self.skipWaiting(); });

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) {
      return key !== CACHE && key.indexOf("ms-report-") === 0;
    }).map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

/* Keep a good answer; an answer that is not a 200 page of its own URL empties the cache. */
function remember(request, response, page) {
  var good = response.status === 200 && !response.redirected && response.type === "basic";
  if (good) {
    var copy = response.clone();
    return caches.open(CACHE).then(function (cache) { return cache.put(request, copy); });
  }
  return page ? forgetAll() : Promise.resolve();
}

function networkFirst(event, page) {
  var request = event.request;
  return fetch(request).then(function (response) {
    event.waitUntil(remember(request, response, page));
    return response;
  }, function (error) {
    return caches.open(CACHE).then(function (cache) {
      // Django's pages vary on the cookie and language, which a worker's requests don't carry.
      return cache.match(request, {ignoreVary: true});
    }).then(function (hit) {
      if (hit) { return hit; }
      throw error;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (isReportPage(url) && request.mode === "navigate") {
    event.respondWith(networkFirst(event, true));
  } else if (isStatic(url)) {
    event.respondWith(networkFirst(event, false));
  }
});

/* The report page asks for its shell: every step of its visit and the assets it uses (it was
 * loaded before this worker controlled it). "forget" empties the cache (logging out). */
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "forget") {
    event.waitUntil(forgetAll());
    return;
  }
  if (data.type !== "cache-shell") { return; }
  var urls = (data.pages || []).concat(data.assets || []).filter(function (href) {
    var url = new URL(href, self.location.href);
    return isReportPage(url) || isStatic(url);
  });
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(urls.map(function (href) {
      var request = new Request(href, {credentials: "same-origin"});
      return fetch(request).then(function (response) {
        var url = new URL(request.url);
        if (isReportPage(url)) { return remember(request, response, true); }
        if (response.status === 200 && !response.redirected) {
          return cache.put(request, response);
        }
        return null;
      }).catch(function () { return null; });
    }));
  }).then(function () {
    if (event.source) { event.source.postMessage({type: "shell-cached"}); }
  }));
});
