/** The page's only style sheet, inline so that the page works offline from a CI artefact. */
export const STYLES = `
:root{--pass:#d9f2d9;--fail:#fbd5d5;--na:#eee;--warn:#ffe9b3;--ink:#1f2328;--dim:#59636e}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 1.5em 3em;color:var(--ink)}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin:1.4em 0 .4em}
a{color:#0a58ca}
code{font:12px ui-monospace,monospace;overflow-wrap:anywhere}
small{color:var(--dim)}
.verdict{padding:.6em 1em;margin:1em 0 .5em;border-radius:6px;border-left:8px solid}
.verdict.passed{background:var(--pass);border-color:#1a7f37}
.verdict.failed{background:var(--fail);border-color:#cf222e}
.verdict.interrupted{background:var(--warn);border-color:#9a6700}
.verdict p{margin:.2em 0}.verdict .status{text-transform:uppercase}
.reasons{margin:.3em 0}.reasons ul{margin:.2em 0;padding-left:1.3em;font-weight:600}.reasons summary{cursor:pointer}
#failures h2{margin-top:.6em}
ol.failures{margin:.2em 0;padding-left:1.6em}
ol.failures li{margin:.15em 0}
ol.failures .err{max-height:4.5em;overflow:hidden}
.err{white-space:pre-wrap;font:12px ui-monospace,monospace;color:#8c1d18;overflow-wrap:anywhere}
.none,.ok{color:#1a7f37;font-weight:600}
.info{color:var(--dim)}
#filter{position:sticky;top:0;z-index:5;background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.4em .8em;margin:1em 0;display:flex;gap:1em;flex-wrap:wrap;align-items:center}
#filter[hidden]{display:none}
#filter select{max-width:30em}
:target,details.scn,ol li{scroll-margin-top:4em}
:target{outline:3px solid #f5a623;outline-offset:2px}
.legend{color:var(--dim);margin:.2em 0 .5em}
.kind{font-size:11px;border-radius:3px;padding:0 4px;border:1px solid}
.kind.documented{color:#0550ae;border-color:#0550ae;background:#ddf4ff}
.kind.derived{color:#6639ba;border-color:#6639ba;background:#fbefff;font-style:italic}
.st{font-size:11px;text-transform:uppercase;color:var(--dim)}
.mx{overflow:auto;max-height:85vh;border:1px solid #d0d7de}
#matrix{border-collapse:separate;border-spacing:0}
#matrix td,#matrix th{border-right:1px solid #e1e4e8;border-bottom:1px solid #e1e4e8;padding:0;text-align:center}
#matrix thead th{position:sticky;top:0;background:#fff;z-index:2;vertical-align:bottom}
#matrix th.rule{position:sticky;left:0;background:#fff;z-index:1;text-align:left;font-weight:normal;min-width:26em;max-width:34em;padding:3px 6px}
#matrix thead th.rule{z-index:3}
#matrix th.col a{display:block;writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;padding:4px 2px;text-decoration:none;font:12px ui-monospace,monospace;color:var(--ink)}
#matrix th.col.failed a,#matrix th.col.interrupted a{color:#cf222e;font-weight:700}
#matrix th.col.not-applicable a,#matrix th.col.skipped a{color:var(--dim)}
#matrix td a{display:block;min-width:1.7em;line-height:1.8em;text-decoration:none;color:inherit}
#matrix th.rule div{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden}
#matrix q{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;color:var(--dim);font-style:italic;font-size:12px}
#matrix tr.k-derived th.rule{border-left:3px dashed #6639ba}
#matrix tr.k-documented th.rule{border-left:3px solid #0550ae}
tr.uncovered th.rule{background:var(--warn)!important}tr.failed th.rule{background:var(--fail)!important}
td.passed{background:var(--pass)}td.failed,td.interrupted{background:var(--fail)}td.not-applicable,td.skipped{background:var(--na);color:var(--dim)}
table.grid,table.facts{border-collapse:collapse}
.grid td,.grid th,.facts td,.facts th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
.facts th{background:#f6f8fa;font-weight:600}
details.scn{border:1px solid #d0d7de;border-radius:6px;margin:.3em 0;padding:.2em .6em}
details.scn>summary{cursor:pointer}
details.scn.failed,details.scn.interrupted{border-color:#cf222e}
details.scn.failed>summary .st,details.scn.interrupted>summary .st{color:#cf222e;font-weight:700}
details.scn.passed>summary .st{color:#1a7f37}
details.scn ol li.failed,details.scn ol li.error{color:#8c1d18}
.tag{background:#eef;border-radius:3px;padding:0 4px;font-size:12px}
.reason{color:var(--dim);font-style:italic}
ul.kms{font:12px ui-monospace,monospace;color:#345;margin:.1em 0}
@media print{#filter{display:none}.mx{max-height:none;overflow:visible}}
`;
