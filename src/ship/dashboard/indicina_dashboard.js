/*
 * indicina_dashboard.js: draws the dashboard from the JSON that
 * indicina.dashboard() embeds in the page (script#indicina-data).
 *
 * No library: charts are SVG drawn here (bars, columns, a donut, lines).
 * The JSON holds sums and counts per combination of the filters' members
 * ("cells", see src/sql/60_dashboard.sql); every number shown is computed
 * from them with integer arithmetic (BigInt), rounded half away from zero
 * as PostgreSQL's round(numeric) does, so with no filter each equals its
 * mart view.  Every chart has a title, a text alternative, a table view and
 * a CSV download (a blob: URL: nothing goes over the network).
 */
(function () {
  'use strict';

  var SVGNS = 'http://www.w3.org/2000/svg';
  var COLOURS = ['var(--c0)', 'var(--c1)', 'var(--c2)', 'var(--c3)', 'var(--c4)', 'var(--c5)', 'var(--c6)', 'var(--c7)'];
  var D;
  var state = { status: null, from: 0, to: 0, band: null };

  // ---- numbers ----------------------------------------------------------

  // sum / 10^scale / n rounded to d decimals, as a decimal string (null for n = 0)
  function ratio(sum, n, scale, d) {
    if (!n || sum === null || sum === undefined) return null;
    var num = BigInt(sum) * (10n ** BigInt(Math.max(d - scale, 0)));
    var den = BigInt(n) * (10n ** BigInt(Math.max(scale - d, 0)));
    var neg = num < 0n;
    if (neg) num = -num;
    var q = (2n * num + den) / (2n * den);
    var s = q.toString();
    if (d > 0) {
      while (s.length <= d) s = '0' + s;
      s = s.slice(0, s.length - d) + '.' + s.slice(s.length - d);
    }
    return (neg && q !== 0n ? '-' : '') + s;
  }
  // a decimal string (or number) with thousands separators
  function fmt(v) {
    if (v === null || v === undefined || v === '') return '-';
    var s = String(v), sign = '';
    if (s.charAt(0) === '-') { sign = '-'; s = s.slice(1); }
    var parts = s.split('.');
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return sign + parts.join('.');
  }
  function cents(v) { return v === null || v === undefined ? null : ratio(v, 1, 2, 2); }
  function num(v) { return v === null || v === undefined ? 0 : Number(v); }

  // ---- DOM helpers --------------------------------------------------------

  function h(tag, attrs, children) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }
  function s(tag, attrs, children) {
    var e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }
  function setAttrs(e, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      if (attrs[k] === null || attrs[k] === undefined) return;
      if (k === 'text') e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
  }
  function append(e, children) {
    if (children === null || children === undefined) return;
    (Array.isArray(children) ? children : [children]).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }

  // ---- tooltip ------------------------------------------------------------

  var tip = document.getElementById('tooltip');
  function showTip(target, x, y) {
    tip.textContent = target.getAttribute('data-tip');
    tip.hidden = false;
    var w = tip.offsetWidth, hgt = tip.offsetHeight;
    var left = Math.min(x + 12, window.innerWidth - w - 4);
    var top = y + 14 + hgt > window.innerHeight ? y - hgt - 8 : y + 14;
    tip.style.left = Math.max(4, left) + 'px';
    tip.style.top = Math.max(4, top) + 'px';
  }
  function hideTip() { tip.hidden = true; }
  document.addEventListener('mousemove', function (ev) {
    var t = ev.target.closest ? ev.target.closest('[data-tip]') : null;
    if (t) showTip(t, ev.clientX, ev.clientY); else hideTip();
  });
  document.addEventListener('focusin', function (ev) {
    var t = ev.target.closest ? ev.target.closest('[data-tip]') : null;
    if (!t) { hideTip(); return; }
    var r = t.getBoundingClientRect();
    showTip(t, r.left + r.width / 2, r.top + r.height / 2);
  });
  document.addEventListener('focusout', hideTip);
  document.addEventListener('scroll', hideTip, true);

  // ---- chart frame: title, tools, table view, CSV -------------------------

  function csvField(v) {
    var t = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t;
  }
  function download(name, table) {
    var text = table.map(function (row) { return row.map(csvField).join(','); }).join('\r\n') + '\r\n';
    var url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
    var a = h('a', { href: url, download: name + '.csv' });
    document.body.appendChild(a);
    a.click();
    document.body.removeChild(a);
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  /*
   * Fills figure#id: caption (title, CSV button), an optional subtitle, the
   * drawing, and a table view.  table = {head: [...], rows: [[...]],
   * num: [column indexes right-aligned]}; the CSV is the same table.
   */
  function frame(id, title, sub, drawing, table, csvName) {
    var fig = document.getElementById(id);
    clear(fig);
    var csvButton = h('button', { type: 'button', 'data-csv': id, text: 'CSV',
                                  'aria-label': 'Download the data of "' + title + '" as CSV' });
    csvButton.addEventListener('click', function () {
      download(csvName || id.replace(/^chart-/, ''), [table.head].concat(table.rows));
    });
    fig.appendChild(h('figcaption', null, [h('span', { class: 'title', text: title }),
                                           h('span', { class: 'tools' }, csvButton)]));
    if (sub) fig.appendChild(h('p', { class: 'sub', text: sub }));
    if (drawing) fig.appendChild(drawing);
    else if (!table.rows.length) fig.appendChild(h('p', { class: 'empty', text: 'Nothing to show.' }));
    var numCols = table.num || [];
    var thead = h('tr', null, table.head.map(function (c, i) {
      return h('th', { scope: 'col', class: numCols.indexOf(i) >= 0 ? 'num' : null, text: c });
    }));
    var tbody = h('tbody', null, table.rows.map(function (r) {
      return h('tr', { class: r.bad ? 'bad' : null }, r.map(function (c, i) {
        return h('td', { class: numCols.indexOf(i) >= 0 ? 'num' : (table.wrap && table.wrap.indexOf(i) >= 0 ? 'wrap' : null),
                         text: c === null || c === undefined ? '' : String(c) });
      }));
    }));
    var tableEl = h('table', null, [h('caption', { class: 'sr-only', text: title }), h('thead', null, thead), tbody]);
    var details = h('details', { class: 'table-view' }, [h('summary', { text: drawing ? 'Table' : 'Table (' + table.rows.length + ' rows)' }),
                                                        h('div', { class: 'table-wrap' }, tableEl)]);
    if (!drawing && table.rows.length) details.open = true;
    fig.appendChild(details);
  }

  var uid = 0;
  function svgRoot(w, hgt, title, desc) {
    uid += 1;
    var tid = 'svg-t-' + uid, did = 'svg-d-' + uid;
    return s('svg', { viewBox: '0 0 ' + w + ' ' + hgt, role: 'img', 'aria-labelledby': tid + ' ' + did,
                      preserveAspectRatio: 'xMinYMin meet' },
             [s('title', { id: tid, text: title }), s('desc', { id: did, text: desc })]);
  }
  // text shortened with an ellipsis to about px pixels of 12 px type (the whole of it is in the tooltip)
  function fit(text, px) {
    var max = Math.max(4, Math.floor(px / 6.6));
    return text.length > max ? text.slice(0, max - 1) + '\u2026' : text;
  }
  function describe(rows) {
    return rows.map(function (r) { return r.label + ': ' + r.display; }).join('; ');
  }

  // the width a chart of figure#id is drawn at: its box's, so text keeps its size
  function widthOf(id) {
    var fig = document.getElementById(id);
    return Math.max(280, Math.round((fig && fig.clientWidth ? fig.clientWidth : 600) - 26));
  }

  // horizontal bars: rows [{label, value (number), display (text), tip}]
  function bars(id, title, rows, colour) {
    if (!rows.length) return null;
    var w = widthOf(id), labelW = Math.min(150, Math.round(w * 0.34)), valueW = Math.min(90, Math.round(w * 0.24));
    var rowH = 26, top = 4;
    var hgt = top + rows.length * rowH + 4;
    var min = Math.min(0, Math.min.apply(null, rows.map(function (r) { return r.value; })));
    var max = Math.max(0, Math.max.apply(null, rows.map(function (r) { return r.value; })));
    var span = max - min || 1, plotW = w - labelW - valueW;
    var x = function (v) { return labelW + (v - min) / span * plotW; };
    var svg = svgRoot(w, hgt, title, describe(rows));
    svg.appendChild(s('line', { class: 'axis', x1: x(0), x2: x(0), y1: 0, y2: hgt }));
    rows.forEach(function (r, i) {
      var y = top + i * rowH;
      var x0 = Math.min(x(0), x(r.value)), bw = Math.max(Math.abs(x(r.value) - x(0)), r.value ? 1 : 0);
      svg.appendChild(s('text', { x: labelW - 6, y: y + rowH / 2 + 4, 'text-anchor': 'end', text: fit(r.label, labelW - 8) }));
      svg.appendChild(s('rect', { x: x0, y: y + 4, width: bw, height: rowH - 8, fill: r.colour || colour || COLOURS[0],
                                  tabindex: 0, 'data-tip': r.tip || (r.label + ': ' + r.display) },
                        s('title', { text: r.tip || (r.label + ': ' + r.display) })));
      svg.appendChild(s('text', { x: w - valueW + 6, y: y + rowH / 2 + 4, text: r.display }));
    });
    return svg;
  }

  // vertical columns (histograms): rows as for bars
  function columns(id, title, rows, colour) {
    if (!rows.length) return null;
    var w = widthOf(id), hgt = 230, left = 44, bottom = 40, top = 18;
    var max = Math.max.apply(null, rows.map(function (r) { return r.value; })) || 1;
    var slot = (w - left - 4) / rows.length;
    var svg = svgRoot(w, hgt, title, describe(rows));
    var y = function (v) { return top + (1 - v / max) * (hgt - top - bottom); };
    svg.appendChild(s('line', { class: 'axis', x1: left, x2: w, y1: y(0), y2: y(0) }));
    svg.appendChild(s('text', { class: 'tick', x: left - 4, y: y(max) + 4, 'text-anchor': 'end', text: fmt(max) }));
    svg.appendChild(s('text', { class: 'tick', x: left - 4, y: y(0) + 4, 'text-anchor': 'end', text: '0' }));
    rows.forEach(function (r, i) {
      var cx = left + i * slot;
      svg.appendChild(s('rect', { x: cx + slot * 0.12, y: y(r.value), width: slot * 0.76,
                                  height: Math.max(y(0) - y(r.value), r.value ? 1 : 0), fill: colour || COLOURS[0],
                                  tabindex: 0, 'data-tip': r.tip || (r.label + ': ' + r.display) },
                        s('title', { text: r.tip || (r.label + ': ' + r.display) })));
      svg.appendChild(s('text', { x: cx + slot / 2, y: y(r.value) - 4, 'text-anchor': 'middle', class: 'tick', text: r.display }));
      svg.appendChild(s('text', { x: cx + slot / 2, y: hgt - bottom + 16, 'text-anchor': 'middle', text: r.label,
                                  style: slot < 72 ? 'font-size:10px' : null }));
    });
    return svg;
  }

  // a donut with its legend: rows as for bars, values are counts
  function donut(id, title, rows) {
    var total = rows.reduce(function (a, r) { return a + r.value; }, 0);
    if (!total) return null;
    // the legend right of the ring, or under it in a narrow box
    var w = widthOf(id), narrow = w < 460, cx = 110, cy = 110, ro = 100, ri = 60;
    var legendX = narrow ? 10 : 250, legendY = narrow ? 240 : 30;
    var hgt = narrow ? legendY + rows.length * 26 : Math.max(220, 30 + rows.length * 26);
    var svg = svgRoot(w, hgt, title, describe(rows));
    var angle = -Math.PI / 2;
    rows.forEach(function (r, i) {
      var a = r.value / total * Math.PI * 2;
      var colour = COLOURS[i % COLOURS.length];
      var shape;
      if (r.value === total) {
        shape = s('path', { d: 'M' + (cx - ro) + ' ' + cy + 'a' + ro + ' ' + ro + ' 0 1 0 ' + 2 * ro + ' 0a' + ro + ' ' + ro + ' 0 1 0 ' + (-2 * ro) + ' 0' +
                               'M' + (cx - ri) + ' ' + cy + 'a' + ri + ' ' + ri + ' 0 1 1 ' + 2 * ri + ' 0a' + ri + ' ' + ri + ' 0 1 1 ' + (-2 * ri) + ' 0Z',
                            'fill-rule': 'evenodd' });
      } else if (r.value > 0) {
        var large = a > Math.PI ? 1 : 0, a2 = angle + a;
        var p = function (rad, t) { return (cx + rad * Math.cos(t)).toFixed(2) + ' ' + (cy + rad * Math.sin(t)).toFixed(2); };
        shape = s('path', { d: 'M' + p(ro, angle) + 'A' + ro + ' ' + ro + ' 0 ' + large + ' 1 ' + p(ro, a2) +
                               'L' + p(ri, a2) + 'A' + ri + ' ' + ri + ' 0 ' + large + ' 0 ' + p(ri, angle) + 'Z' });
      }
      if (shape) {
        setAttrs(shape, { fill: colour, tabindex: 0, 'data-tip': r.tip || (r.label + ': ' + r.display) });
        shape.appendChild(s('title', { text: r.tip || (r.label + ': ' + r.display) }));
        svg.appendChild(shape);
      }
      angle += a;
      var ly = legendY + i * 26;
      svg.appendChild(s('rect', { x: legendX, y: ly - 10, width: 12, height: 12, fill: colour }));
      svg.appendChild(s('text', { x: legendX + 20, y: ly, text: r.label + ': ' + r.display, 'data-legend': r.label }));
    });
    svg.appendChild(s('text', { x: cx, y: cy + 5, 'text-anchor': 'middle', text: fmt(total) }));
    return svg;
  }

  // lines: labels (x), series [{name, values (numbers or null), display (texts)}]
  function lines(id, title, labels, series, desc) {
    if (!labels.length) return null;
    var w = widthOf(id), hgt = w < 500 ? 200 : 260, left = 80, right = 16, top = 12, bottom = 44;
    var all = [];
    series.forEach(function (sr) { sr.values.forEach(function (v) { if (v !== null) all.push(v); }); });
    var min = Math.min(0, Math.min.apply(null, all)), max = Math.max(0, Math.max.apply(null, all));
    var span = max - min || 1;
    var step = labels.length > 1 ? (w - left - right) / (labels.length - 1) : 0;
    var x = function (i) { return labels.length > 1 ? left + i * step : (w + left) / 2; };
    var y = function (v) { return top + (max - v) / span * (hgt - top - bottom); };
    var svg = svgRoot(w, hgt, title, desc);
    svg.appendChild(s('line', { class: 'axis', x1: left, x2: w - right, y1: y(0), y2: y(0) }));
    [max, min].forEach(function (v) {
      if (v !== 0) svg.appendChild(s('text', { class: 'tick', x: left - 6, y: y(v) + 4, 'text-anchor': 'end', text: fmt(Math.round(v)) }));
    });
    svg.appendChild(s('text', { class: 'tick', x: left - 6, y: y(0) + 4, 'text-anchor': 'end', text: '0' }));
    var every = Math.max(1, Math.ceil(labels.length / Math.max(2, Math.floor((w - left) / 80))));
    labels.forEach(function (l, i) {
      if (i % every === 0 || i === labels.length - 1) {
        svg.appendChild(s('text', { class: 'tick', x: x(i), y: hgt - bottom + 18, 'text-anchor': 'middle', text: l }));
      }
    });
    series.forEach(function (sr, k) {
      var colour = COLOURS[k % COLOURS.length], pts = [];
      sr.values.forEach(function (v, i) { if (v !== null) pts.push(x(i).toFixed(1) + ',' + y(v).toFixed(1)); });
      svg.appendChild(s('polyline', { points: pts.join(' '), fill: 'none', stroke: colour, 'stroke-width': 2 }));
      sr.values.forEach(function (v, i) {
        if (v === null) return;
        var t = sr.name + ', ' + labels[i] + ': ' + sr.display[i];
        svg.appendChild(s('circle', { cx: x(i), cy: y(v), r: 4, fill: colour, tabindex: 0, 'data-tip': t }, s('title', { text: t })));
      });
    });
    var wrap = h('div');
    wrap.appendChild(h('ul', { class: 'legend' }, series.map(function (sr, k) {
      return h('li', null, [h('span', { class: 'swatch', style: 'background:' + COLOURS[k % COLOURS.length] }), sr.name]);
    })));
    wrap.appendChild(svg);
    return wrap;
  }

  // ---- filters over the cells -------------------------------------------

  var lastMonth = function () { return D.dims.month.length - 1; };
  function dateActive() { return state.from > 0 || state.to < lastMonth(); }
  // whether a cell of profile (status, month, band) is in the filters
  function inFilter(st, mo, sb) {
    if (state.status !== null && st !== state.status) return false;
    if (dateActive() && (mo === null || mo < state.from || mo > state.to)) return false;
    if (state.band !== null && sb !== state.band) return false;
    return true;
  }
  function anyFilter() { return state.status !== null || state.band !== null || dateActive(); }
  function cells(name) {
    return D.cells[name].filter(function (r) { return inFilter(r[0], r[1], r[2]); });
  }
  // sums of columns cols of rows grouped by column key (null key kept)
  function group(rows, key, cols) {
    var out = new Map();
    rows.forEach(function (r) {
      var g = out.get(r[key]);
      if (!g) { g = cols.map(function () { return 0; }); out.set(r[key], g); }
      cols.forEach(function (c, i) { g[i] += num(r[c]); });
    });
    return out;
  }
  function total(rows, col) { return rows.reduce(function (a, r) { return a + num(r[col]); }, 0); }
  function dimLabel(dim, i) { return i === null || i === undefined ? '(none)' : D.dims[dim][i]; }
  // the members of a dimension in its order, the unlisted (null) last
  function ordered(map, dim) {
    var keys = Array.from(map.keys()).filter(function (k) { return k !== null; }).sort(function (a, b) { return a - b; });
    if (map.has(null)) keys.push(null);
    return keys.map(function (k) { return { key: k, label: dimLabel(dim, k), v: map.get(k) }; });
  }

  // ---- the panels ---------------------------------------------------------

  function tile(id, value, note, cls) {
    var t = document.getElementById(id);
    t.querySelector('.value').textContent = value;
    t.querySelector('.note').textContent = note || '';
    t.classList.remove('bad', 'good');
    if (cls) t.classList.add(cls);
  }

  // loans columns: 0 status, 1 month, 2 score band, 3 lti band, 4 applications, 5 income n,
  // 6 income sum, 7 loan n, 8 loan sum, 9 score n, 10 score sum, 11 lti n, 12 lti sum
  // customers: 0-2 profile, 3 applied, 4 regularity band, 5 volatility band, 6 customers, 7 with months
  // narration: 0-2 profile, 3 narration, 4 transactions, 5 amount sum
  // flows: 0-2 profile, 3 month, 4 inflow, 5 outflow, 6 net, 7 transactions, 8 customer-months
  function drawCredit() {
    var loans = cells('loans'), customers = cells('customers'), narr = cells('narration');
    var apps = total(loans, 4);
    tile('tile-avg-income', fmt(ratio(total(loans, 6), total(loans, 5), 2, 2)), 'over ' + fmt(total(loans, 5)) + ' applications with an income');
    var txns = total(narr, 4), withTxns = total(customers, 7);
    tile('tile-avg-txn', fmt(ratio(txns, withTxns, 0, 2)), fmt(txns) + ' transactions of ' + fmt(withTxns) + ' customers');
    tile('tile-customers', fmt(total(customers.filter(function (r) { return r[3] === 1; }), 6)), 'with an application');
    tile('tile-applications', fmt(apps), '');

    var byStatus = ordered(group(loans, 0, [4, 5, 6, 7, 8]), 'status');
    var mix = byStatus.map(function (g) {
      var share = ratio(g.v[0] * 100, apps, 0, 2);
      return { label: g.label, value: g.v[0], display: fmt(g.v[0]), tip: g.label + ': ' + fmt(g.v[0]) + ' applications (' + share + '%)', share: share };
    });
    frame('chart-employment', 'Employment-status mix', 'Applications by employment status (mart.kpi_employment_status)',
          donut('chart-employment', 'Employment-status mix', mix),
          { head: ['employment_status', 'applications', 'share_pct'], num: [1, 2],
            rows: mix.map(function (r) { return [r.label, r.value, r.share]; }) });

    // an average per employment status (the sum at g.v[sumAt] over the count
    // at g.v[countAt]) as bars, with its table: column, then the count's column
    function averageByStatus(id, title, sub, column, countColumn, sumAt, countAt, colour) {
      var rows = byStatus.map(function (g) {
        var v = ratio(g.v[sumAt], g.v[countAt], 2, 2);
        return { label: g.label, value: Number(v), display: fmt(v), n: g.v[countAt], raw: v };
      }).filter(function (r) { return r.raw !== null; });
      frame(id, title, sub, bars(id, title, rows, colour),
            { head: ['employment_status', column, countColumn], num: [1, 2],
              rows: rows.map(function (r) { return [r.label, r.raw, r.n]; }) });
    }
    averageByStatus('chart-income-status', 'Average annual income by employment status',
                    'mart.kpi_employment_status.avg_annual_income', 'avg_annual_income', 'applications_with_income',
                    2, 1, COLOURS[0]);
    averageByStatus('chart-loan-status', 'Average loan amount by employment status',
                    'mart.kpi_employment_status.avg_loan_amount', 'avg_loan_amount', 'applications_with_amount',
                    4, 3, COLOURS[1]);

    var byNarr = ordered(group(narr, 3, [4, 5]), 'narration').map(function (g) {
      var v = ratio(g.v[1], g.v[0], 2, 2);
      return { label: g.label, value: Number(v), display: fmt(v), n: g.v[0], raw: v,
               tip: g.label + ': average ' + fmt(v) + ' over ' + fmt(g.v[0]) + ' transactions' };
    });
    frame('chart-narration', 'Average transaction amount by narration', 'mart.kpi_narration; debits are negative',
          bars('chart-narration', 'Average transaction amount by narration', byNarr, COLOURS[2]),
          { head: ['narration', 'transactions', 'avg_transaction_amount'], num: [1, 2],
            rows: byNarr.map(function (r) { return [r.label, r.n, r.raw]; }) });
  }

  function drawRisk() {
    var loans = cells('loans'), customers = cells('customers'), flows = cells('flows');
    var lti = ordered(group(loans, 3, [4, 9, 10]), 'lti_band').map(function (g) {
      var sc = ratio(g.v[2], g.v[1], 0, 1);
      return { label: g.label, value: g.v[0], display: fmt(g.v[0]), sc: sc,
               tip: g.label + ': ' + fmt(g.v[0]) + ' applications, average credit score ' + fmt(sc) };
    });
    frame('chart-lti', 'Applications by loan-to-income band', 'mart.kpi_loan_to_income_bands (loan amount / annual income)',
          bars('chart-lti', 'Applications by loan-to-income band', lti, COLOURS[3]),
          { head: ['band', 'applications', 'avg_credit_score'], num: [1, 2], rows: lti.map(function (r) { return [r.label, r.value, r.sc]; }) });

    var scoreMap = group(loans.filter(function (r) { return r[2] !== null; }), 2, [4, 7, 8, 11, 12]);
    var score = ordered(scoreMap, 'score_band').map(function (g) {
      var al = ratio(g.v[2], g.v[1], 2, 2), alti = ratio(g.v[4], g.v[3], 4, 4);
      return { label: g.label, value: g.v[0], display: fmt(g.v[0]), al: al, alti: alti,
               tip: g.label + ': ' + fmt(g.v[0]) + ' applications, average loan ' + fmt(al) + ', average loan-to-income ' + fmt(alti) };
    });
    frame('chart-score', 'Applications by credit-score band', 'mart.kpi_credit_score_bands',
          bars('chart-score', 'Applications by credit-score band', score, COLOURS[4]),
          { head: ['band', 'applications', 'avg_loan_amount', 'avg_loan_to_income'], num: [1, 2, 3],
            rows: score.map(function (r) { return [r.label, r.value, r.al, r.alti]; }) });

    var fm = group(flows, 3, [4, 5, 6, 7, 8]);
    var months = D.dims.flow_month.map(function (m, i) { return { m: m, v: fm.get(i) }; }).filter(function (x) { return x.v; });
    var series = [['Inflow', 0], ['Outflow', 1], ['Net', 2]].map(function (p) {
      return { name: p[0], values: months.map(function (x) { return x.v[p[1]] / 100; }),
               display: months.map(function (x) { return fmt(cents(x.v[p[1]])); }) };
    });
    frame('chart-cashflow', 'Monthly inflow, outflow and net', 'mart.kpi_monthly_cash_flow, over the customers in the filters',
          lines('chart-cashflow', 'Monthly inflow, outflow and net', months.map(function (x) { return x.m; }), series,
                months.map(function (x) { return x.m + ': inflow ' + fmt(cents(x.v[0])) + ', outflow ' + fmt(cents(x.v[1])) + ', net ' + fmt(cents(x.v[2])); }).join('; ')),
          { head: ['month', 'inflow', 'outflow', 'net', 'transactions', 'customers'], num: [1, 2, 3, 4, 5],
            rows: months.map(function (x) { return [x.m, cents(x.v[0]), cents(x.v[1]), cents(x.v[2]), x.v[3], x.v[4]]; }) });

    [['chart-regularity', 4, 'regularity_band', 'Income regularity', 'mart.kpi_income_regularity: share of observed months with a salary-like credit', COLOURS[5]],
     ['chart-volatility', 5, 'volatility_band', 'Balance volatility', 'mart.kpi_balance_volatility: standard deviation of monthly closing balances', COLOURS[6]]
    ].forEach(function (c) {
      var m = group(customers.filter(function (r) { return r[c[1]] !== null; }), c[1], [6]);
      var rows = D.dims[c[2]].map(function (label, i) {
        var n = m.has(i) ? m.get(i)[0] : 0;
        return { label: label, value: n, display: fmt(n), tip: label + ': ' + fmt(n) + ' customers' };
      });
      var shown = rows.some(function (r) { return r.value > 0; }) ? rows : [];
      frame(c[0], c[3] + ' (customers)', c[4], columns(c[0], c[3], shown, c[5]),
            { head: ['band', 'customers'], num: [1], rows: shown.map(function (r) { return [r.label, r.value]; }) });
    });

    // riskiest: 0-2 profile, 3 rank, 4 id, 5 date, 6 score, 7 income, 8 loan, 9 lti,
    // 10 months, 11 regularity, 12 volatility, 13 avg inflow, 14 avg outflow
    var risky = D.riskiest.filter(function (r) { return inFilter(r[0], r[1], r[2]); }).slice(0, D.meta.riskiest);
    frame('chart-riskiest', 'Riskiest customers', 'mart.riskiest_customers: highest loan-to-income first (no income first of all), then lowest income regularity, then lowest credit score' +
          (D.meta.masked ? '; customer ids masked' : ''), null,
          { head: ['rank', 'customer', 'employment_status', 'applied', 'credit_score', 'annual_income', 'loan_amount',
                   'loan_to_income', 'months', 'income_regularity', 'balance_volatility', 'avg_monthly_inflow', 'avg_monthly_outflow'],
            num: [0, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            rows: risky.map(function (r) {
              return [r[3], r[4], dimLabel('status', r[0]), r[5], r[6], fmt(r[7]), fmt(r[8]), r[9], r[10], r[11], fmt(r[12]), fmt(r[13]), fmt(r[14])];
            }) }, 'riskiest_customers');
  }

  function drawQuality() {
    var q = D.quality;
    var runs = q.runs;
    var last = runs.length ? runs[runs.length - 1] : null;
    tile('tile-last-run', last ? last.status : 'no run yet',
         last ? 'run ' + last.run_id + ', ' + String(last.started_at).replace('T', ' ').slice(0, 19) : '',
         last ? (last.status === 'succeeded' ? 'good' : 'bad') : null);
    tile('tile-unknown', fmt(q.unknown_member.transactions), 'of ' + fmt(q.unknown_member.customers) + ' customers with no application yet (the unknown member)',
         q.unknown_member.transactions ? 'bad' : null);
    tile('tile-rejects', fmt(q.rejects.reduce(function (a, r) { return a + r[2]; }, 0)), 'rows, as far as the reject log still holds them');
    var u = q.last_unload;
    if (!u) tile('tile-unload', 'no unload yet', 'indicina.unloads holds none for this warehouse');
    else
      tile('tile-unload', String(u.state), 'unload ' + u.unload_id + ' (' + u.mode + ') to ' + u.server + ', ' +
           (u.finished_at || u.started_at) + (u.tables ? ', ' + fmt(u.tables) + ' tables' : '') +
           (u.message ? ': ' + u.message : ''), u.state === 'complete' ? null : 'bad');

    var labels = runs.map(function (r) { return String(r.run_id); });
    var series = [['Read', 'rows_read'], ['Loaded', 'rows_loaded'], ['Rejected', 'rows_rejected']].map(function (p) {
      return { name: p[0], values: runs.map(function (r) { return r[p[1]] === null ? null : Number(r[p[1]]); }),
               display: runs.map(function (r) { return fmt(r[p[1]]); }) };
    });
    frame('chart-runs', 'Pipeline runs: rows read, loaded and rejected', 'indicina.pipeline_runs, the last ' + runs.length + ' runs into ' + D.meta.warehouse + ' (x: run id)',
          lines('chart-runs', 'Pipeline runs', labels, series, runs.map(function (r) { return 'run ' + r.run_id + ' ' + r.status + ': read ' + fmt(r.rows_read) + ', loaded ' + fmt(r.rows_loaded) + ', rejected ' + fmt(r.rows_rejected); }).join('; ')),
          { head: ['run_id', 'status', 'started_at', 'seconds', 'files', 'rows_read', 'rows_loaded', 'rows_rejected', 'rows_warned', 'message'],
            num: [0, 3, 4, 5, 6, 7, 8], wrap: [9],
            rows: runs.slice().reverse().map(function (r) {
              var row = [r.run_id, r.status, r.started_at, r.seconds, r.files, r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_warned, r.message];
              if (r.status !== 'succeeded') row.bad = true;
              return row;
            }) }, 'pipeline_runs');

    frame('chart-files', 'File ledger', D.meta.warehouse + '.file_ledger: per file, rows read = loaded + rejected', null,
          { head: ['source', 'path', 'status', 'rows_read', 'rows_loaded', 'rows_rejected', 'rows_warned', 'read = loaded + rejected', 'run_id', 'duplicate_of'],
            num: [3, 4, 5, 6, 8],
            rows: q.files.map(function (f) {
              var ok = f.rows_read === null ? '' : (num(f.rows_read) === num(f.rows_loaded) + num(f.rows_rejected) ? 'yes' : 'no');
              var row = [f.source, f.path, f.status, f.rows_read, f.rows_loaded, f.rows_rejected, f.rows_warned, ok, f.run_id, f.duplicate_of];
              if (ok === 'no') row.bad = true;
              return row;
            }) }, 'file_ledger');

    var byCode = new Map();
    q.rejects.forEach(function (r) { byCode.set(r[1], (byCode.get(r[1]) || 0) + r[2]); });
    var codes = Array.from(byCode.keys()).sort().map(function (c) {
      return { label: c, value: byCode.get(c), display: fmt(byCode.get(c)) };
    });
    frame('chart-rejects-code', 'Rejects by code', 'indicina.load_errors of the relations this warehouse loads',
          bars('chart-rejects-code', 'Rejects by code', codes, 'var(--bad)'),
          { head: ['code', 'rows'], num: [1], rows: codes.map(function (r) { return [r.label, r.value]; }) }, 'rejects_by_code');

    var rules = q.rules.map(function (r) {
      return { label: r[1] + (r[2] === 'warn' ? ' (warn)' : ''), value: r[3], display: fmt(r[3]), relation: r[0], severity: r[2],
               colour: r[2] === 'warn' ? COLOURS[5] : 'var(--bad)' };
    });
    frame('chart-rules', 'Rule failures by rule', 'reject log: RULE: rows were rejected, WARN: rows were loaded and flagged',
          bars('chart-rules', 'Rule failures by rule', rules),
          { head: ['relation', 'rule', 'severity', 'rows'], num: [3],
            rows: rules.map(function (r) { return [r.relation, r.label.replace(' (warn)', ''), r.severity, r.value]; }) }, 'rule_failures');

    var runIds = [];
    q.rule_trend.forEach(function (t) { t.runs.forEach(function (x) { if (runIds.indexOf(x[0]) < 0) runIds.push(x[0]); }); });
    runIds.sort(function (a, b) { return a - b; });
    var trend = q.rule_trend.map(function (t) {
      var byRun = new Map(t.runs.map(function (x) { return [x[0], x]; }));
      return { name: t.rule, values: runIds.map(function (id) { return byRun.has(id) ? num(byRun.get(id)[2]) : null; }),
               display: runIds.map(function (id) { return byRun.has(id) ? fmt(byRun.get(id)[2]) + ' of ' + fmt(byRun.get(id)[1]) + ' failed (' + byRun.get(id)[3] + ')' : ''; }),
               t: t };
    });
    var trendRows = [];
    trend.forEach(function (sr) { sr.t.runs.forEach(function (x) { trendRows.push([sr.t.relation, sr.t.rule, x[0], x[1], x[2], x[3]]); }); });
    frame('chart-rule-trend', 'Each rule over the last runs', 'indicina.quality_results: rows failed per run (x: run id)',
          trend.length ? lines('chart-rule-trend', 'Each rule over the last runs', runIds.map(String), trend,
                               trend.map(function (sr) { return sr.name + ': ' + sr.values.map(function (v) { return v === null ? '-' : v; }).join(', '); }).join('; ')) : null,
          { head: ['relation', 'rule', 'run_id', 'rows_checked', 'rows_failed', 'outcome'], num: [2, 3, 4], rows: trendRows }, 'rule_trend');
  }

  // ---- the filters ----------------------------------------------------------

  function summary() {
    var parts = [];
    if (state.status !== null) parts.push('employment status ' + D.dims.status[state.status]);
    if (dateActive()) parts.push('applied ' + D.dims.month[state.from] + ' to ' + D.dims.month[state.to]);
    if (state.band !== null) parts.push('credit score ' + D.dims.score_band[state.band]);
    document.getElementById('filter-summary').textContent = parts.length
      ? 'Showing ' + parts.join(', ') + '. Applications by their own status, date and score; customers, transactions and features by their latest application.'
      : 'Showing everything: each number equals its mart view.';
  }
  function redraw() {
    summary();
    drawCredit();
    drawRisk();
  }
  function setupFilters() {
    var st = document.getElementById('filter-status'), from = document.getElementById('filter-from'),
        to = document.getElementById('filter-to'), band = document.getElementById('filter-band');
    D.dims.status.forEach(function (v, i) { st.appendChild(h('option', { value: i, text: v })); });
    D.dims.score_band.forEach(function (v, i) { band.appendChild(h('option', { value: i, text: v })); });
    D.dims.month.forEach(function (v, i) {
      from.appendChild(h('option', { value: i, text: v }));
      to.appendChild(h('option', { value: i, text: v }));
    });
    state.to = lastMonth();
    from.value = '0';
    to.value = String(state.to);
    var read = function () {
      state.status = st.value === '' ? null : Number(st.value);
      state.band = band.value === '' ? null : Number(band.value);
      state.from = Number(from.value || 0);
      state.to = Number(to.value || 0);
      if (state.from > state.to) {
        if (this === from) { state.to = state.from; to.value = from.value; } else { state.from = state.to; from.value = to.value; }
      }
      redraw();
    };
    [st, from, to, band].forEach(function (e) { e.addEventListener('change', read); });
    document.getElementById('filters').addEventListener('reset', function () {
      setTimeout(function () {
        from.value = '0';
        to.value = String(lastMonth());
        read.call(null);
      }, 0);
    });
    if (!D.dims.month.length) { from.disabled = true; to.disabled = true; }
  }

  // ---- start ----------------------------------------------------------------

  try {
    D = JSON.parse(document.getElementById('indicina-data').textContent);
  } catch (e) {
    D = null;
  }
  if (!D || D.format !== 1) {
    // the template opened as it is: the header already says so
    return;
  }
  document.getElementById('page-title').textContent = D.meta.title;
  document.getElementById('page-meta').textContent =
    'Warehouse ' + D.meta.warehouse + ' (mart views in ' + D.meta.mart + ') of database ' + D.meta.database +
    ', drawn at ' + String(D.meta.snapshot).replace('T', ' ').slice(0, 19) +
    (D.meta.run_id !== null ? ' after pipeline run ' + D.meta.run_id : ', no pipeline run has succeeded yet') +
    '; indicina ' + D.meta.extension + '.';
  setupFilters();
  redraw();
  drawQuality();
  // charts are drawn at their box's width: again when it changes
  var drawnAt = window.innerWidth, pending = null;
  window.addEventListener('resize', function () {
    if (pending) clearTimeout(pending);
    pending = setTimeout(function () {
      pending = null;
      if (window.innerWidth === drawnAt) return;
      drawnAt = window.innerWidth;
      redraw();
      drawQuality();
    }, 150);
  });
})();
