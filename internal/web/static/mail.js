// Keyboard shortcuts for the webmail (Gmail's letters). Everything they do
// is a link or a form button that works without this script; the mail
// pages allow scripts from our own origin only (script-src 'self'), and
// no script of a message ever runs (it is in a sandboxed frame).
(function () {
  'use strict';
  function q(sel) { return document.querySelector(sel); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll('#messages tbody tr[data-uid]')); }
  function current(list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].contains(document.activeElement)) return i;
    }
    return -1;
  }
  function focusRow(list, i) {
    if (i < 0 || i >= list.length) return;
    var a = list[i].querySelector('td.subject a');
    if (a) a.focus();
  }
  // act clicks a list or message button; in the list with nothing
  // ticked it acts on the focused row.
  function act(ids) {
    var list = rows(), i = current(list);
    if (list.length && !document.querySelector('#messages input[name=uid]:checked')) {
      if (i < 0) return;
      list[i].querySelector('input[name=uid]').checked = true;
    }
    for (var k = 0; k < ids.length; k++) {
      var b = q(ids[k]);
      if (b) { b.click(); return; }
    }
  }
  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(t.tagName) && t.type !== 'checkbox') {
      if (e.key === 'Escape') t.blur();
      return;
    }
    var list = rows(), i = current(list), done = true;
    switch (e.key) {
      case 'j': focusRow(list, i + 1); break;
      case 'k': focusRow(list, i < 0 ? 0 : i - 1); break;
      case 'x':
        if (i >= 0) { var c = list[i].querySelector('input[name=uid]'); c.checked = !c.checked; }
        break;
      case 's': act(['#act-flag', '#act-unflag']); break;
      case '#': act(['#act-delete']); break;
      case '!': act(['#act-spam', '#act-notspam']); break;
      case 'u': var b = q('#back'); if (b) b.click(); break;
      case '/': var s = q('#q'); if (s) s.focus(); break;
      case 'n': var n = q('#next'); if (n) n.click(); break;
      case 'p': var p = q('#prev'); if (p) p.click(); break;
      default: done = false;
    }
    if (done) e.preventDefault();
  });
  // The list starts with its first message focused, ready for j/k.
  var l = rows();
  if (l.length && !document.activeElement.matches('input, select, textarea')) focusRow(l, 0);
  // Says the keys work from now on: the script loads after the page is
  // shown, and a key pressed before that does nothing (a browser test
  // waits for this mark instead of guessing).
  document.documentElement.setAttribute('data-shortcuts', 'on');
})();
