// AmoSync's bounce page: forwards amoCRM's redirect (?code&state&referer…)
// to the app's deep link, and shows the code when the scheme does not open.
// Plain script, no dependencies, no network. Tested by ui/src/bounce.test.ts.
(function () {
  'use strict';
  var SCHEME_TARGET = 'amosync://oauth/callback';

  function show(doc, id) {
    var el = doc.getElementById(id);
    if (el) el.classList.remove('hidden');
  }

  // Decides and renders; returns the deep link it opened (or null).
  function amosyncBounce(search, doc, location) {
    var params = new URLSearchParams(search || '');
    if (params.get('error')) {
      show(doc, 'denied');
      return null;
    }
    var code = params.get('code');
    if (!code) {
      show(doc, 'empty');
      return null;
    }
    var link = SCHEME_TARGET + '?' + params.toString();
    doc.getElementById('open').setAttribute('href', link);
    doc.getElementById('code').textContent = code;
    show(doc, 'opening');
    show(doc, 'manual');
    location.href = link;
    return link;
  }

  globalThis.amosyncBounce = amosyncBounce;
  if (typeof document !== 'undefined' && document.getElementById('amosync-bounce')) {
    amosyncBounce(window.location.search, document, window.location);
  }
})();
