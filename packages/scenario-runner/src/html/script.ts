/**
 * The page's only script, inline. The page is whole without it; it adds the filter (by rule,
 * status and tag) and makes a link into a closed or filtered-out scenario open and show it.
 * It reads nothing from the results, so no result text ever lands inside it.
 */
export const SCRIPT = `
(function () {
  'use strict';
  var form = document.getElementById('filter');
  var shown = document.getElementById('shown');
  var scen = [].slice.call(document.querySelectorAll('details.scn'));
  var cols = [].slice.call(document.querySelectorAll('#matrix thead th.col'));
  var rows = [].slice.call(document.querySelectorAll('#matrix tbody tr'));
  var notRun = [].slice.call(document.querySelectorAll('#not-run tr[data-s]'));
  var style = document.createElement('style');
  document.head.appendChild(style);
  function has(list, v) { return (' ' + list + ' ').indexOf(' ' + v + ' ') >= 0; }
  function apply() {
    var rule = form.elements.rule.value, status = form.elements.status.value, tag = form.elements.tag.value;
    var visible = {}, n = 0;
    scen.forEach(function (d) {
      var ok = (!rule || has(d.dataset.rules, rule)) && (!status || d.dataset.status === status) && (!tag || has(d.dataset.tags, tag));
      d.hidden = !ok;
      if (ok) { visible[d.id] = true; n++; }
    });
    // One generated rule per hidden column, rather than touching every cell.
    var css = [];
    cols.forEach(function (th, i) { if (!visible[th.dataset.s]) css.push('#matrix tr>:nth-child(' + (i + 2) + ')'); });
    style.textContent = css.length ? css.join(',') + '{display:none}' : '';
    rows.forEach(function (tr) { tr.hidden = !!rule && tr.dataset.rule !== rule; });
    notRun.forEach(function (tr) { tr.hidden = !visible[tr.dataset.s]; });
    shown.textContent = n === scen.length ? 'all ' + n + ' scenarios shown' : n + ' of ' + scen.length + ' scenarios shown';
  }
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (!el) return;
    var d = el.closest('details.scn');
    if (d && d.hidden) { form.reset(); apply(); }
    for (var p = el; p; p = p.parentElement) if (p.tagName === 'DETAILS') p.open = true;
    el.scrollIntoView({ block: 'start' });
  }
  form.hidden = false;
  form.addEventListener('change', apply);
  form.addEventListener('reset', function () { setTimeout(apply, 0); });
  form.addEventListener('submit', function (e) { e.preventDefault(); });
  window.addEventListener('hashchange', reveal);
  // A second click on the link already in the address bar fires no hashchange.
  document.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a[href^="#"]');
    if (a && a.getAttribute('href') === location.hash) setTimeout(reveal, 0);
  });
  apply();
  reveal();
})();
`;
