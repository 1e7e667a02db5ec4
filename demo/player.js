// The particle player: draws the data demo/animation.py embeds, on canvases.
// Everything runs in the browser from the data embedded once: Play, Pause and
// the time slider never talk to a server. Two modes:
//   "events" (weight sharing R): the event log gives the exact state at ANY time t;
//   "frames" (the family): frame j is the exact state at DATA.times[j], no interpolation.
(function (root) {
  "use strict";
  const DATA = JSON.parse(root.querySelector("script.wsp-data").textContent);
  const PALETTE = DATA.palette;
  const q = (name) => root.querySelector("." + name);

  function decode(b64, Type) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Type(bytes.buffer);
  }
  const arrays = {};
  for (const [key, spec] of Object.entries(DATA.arrays)) {
    arrays[key] = decode(spec.b64, { f8: Float64Array, f4: Float32Array, u1: Uint8Array,
                                     i4: Int32Array }[spec.type]);
  }

  // ------------------------------------------------------------- numbers and axes
  function fmt(v) {
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e5 || a < 1e-3) return Number(v.toPrecision(3)).toExponential().replace("e+", "e");
    return String(Number(v.toPrecision(4)));
  }
  function linear(lo, hi, a, b) {  // data [lo, hi] -> pixels [a, b]; halves keep 1e308 finite
    const span = hi / 2 - lo / 2 || 0.5;
    return (v) => a + ((v / 2 - lo / 2) / span) * (b - a);
  }
  function logScale(lo, hi, a, b) {
    const l0 = Math.log10(lo), l1 = Math.log10(hi);
    return (v) => a + ((Math.log10(v) - l0) / (l1 - l0)) * (b - a);
  }
  function niceTicks(lo, hi, n) {
    const span = hi / 2 - lo / 2;
    if (!(span > 0) || !isFinite(span)) return [lo];
    const raw = (span / n) * 2;  // in this order: finite even for a span near 1e308
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) || 10 * p;
    const ticks = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
      if (ticks.length > 50) break;
    }
    return ticks;
  }
  function decades(lo, hi) {
    const ticks = [];
    for (let k = Math.ceil(Math.log10(lo)); k <= Math.floor(Math.log10(hi)); k++) ticks.push(k);
    return ticks;
  }
  const decadeLabel = (k) => (k <= 3 && k >= 0 ? String(Math.pow(10, k)) : "1e" + k);

  // ------------------------------------------------------------- panels
  const M = { l: 56, r: 12, t: 6, b: 36 };
  function panel(name) {
    const box = q("wsp-" + name);
    if (!box) return null;
    const bg = box.querySelector("canvas.bg"), fg = box.querySelector("canvas.fg");
    return { box, bg, fg, title: box.querySelector(".wsp-title") };
  }
  const panels = { particles: panel("particles"), spacetime: panel("spacetime"),
                   tree: panel("tree"), shared: panel("shared") };

  function size(p) {
    const ratio = window.devicePixelRatio || 1;
    const w = p.box.clientWidth, h = p.bg.clientHeight;
    for (const c of [p.bg, p.fg]) {
      c.width = Math.round(w * ratio);
      c.height = Math.round(h * ratio);
      c.getContext("2d").setTransform(ratio, 0, 0, ratio, 0, 0);
    }
    p.w = w;
    p.h = h;
    p.x0 = M.l; p.x1 = w - M.r; p.y0 = h - M.b; p.y1 = M.t;
  }
  function axes(p, ctx, xs, ys, xTicks, yTicks, xLabel, yLabel) {
    ctx.fillStyle = "#fafafa";
    ctx.fillRect(p.x0, p.y1, p.x1 - p.x0, p.y0 - p.y1);
    ctx.font = "11px sans-serif";
    ctx.fillStyle = "#444";
    ctx.strokeStyle = "#e4e4e4";
    ctx.lineWidth = 1;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const [v, label] of xTicks) {
      const x = xs(v);
      if (x < p.x0 - 1 || x > p.x1 + 1) continue;
      ctx.beginPath(); ctx.moveTo(x, p.y1); ctx.lineTo(x, p.y0); ctx.stroke();
      ctx.fillText(label, x, p.y0 + 3);
    }
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const [v, label] of yTicks) {
      const y = ys(v);
      if (y > p.y0 + 1 || y < p.y1 - 1) continue;
      ctx.beginPath(); ctx.moveTo(p.x0, y); ctx.lineTo(p.x1, y); ctx.stroke();
      ctx.fillText(label, p.x0 - 4, y);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText(xLabel, (p.x0 + p.x1) / 2, p.h - 1);
    if (yLabel) {
      ctx.save();
      ctx.translate(11, (p.y0 + p.y1) / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textBaseline = "middle";
      ctx.fillText(yLabel, 0, 0);
      ctx.restore();
    }
  }
  const ticksOf = (lo, hi, n) => niceTicks(lo, hi, n).map((v) => [v, fmt(v)]);
  function lamLine(ctx, p, coord, vertical, dash) {
    ctx.save();
    ctx.strokeStyle = "#d62728";
    ctx.lineWidth = 2;
    if (dash) ctx.setLineDash([6, 4]);
    ctx.beginPath();
    if (vertical) { ctx.moveTo(coord, p.y1); ctx.lineTo(coord, p.y0); }
    else { ctx.moveTo(p.x0, coord); ctx.lineTo(p.x1, coord); }
    ctx.stroke();
    ctx.restore();
  }
  function clip(ctx, p) {
    ctx.beginPath();
    ctx.rect(p.x0, p.y1, p.x1 - p.x0, p.y0 - p.y1);
    ctx.clip();
  }

  // ------------------------------------------------------------- static views
  const [posLo, posHi] = DATA.position_range;
  const tEnd = DATA.t_end;
  function drawSpacetime(p) {
    const ctx = p.bg.getContext("2d");
    ctx.clearRect(0, 0, p.w, p.h);
    p.xs = linear(0, tEnd, p.x0, p.x1);
    p.ys = linear(posLo, posHi, p.y0, p.y1);
    axes(p, ctx, p.xs, p.ys, ticksOf(0, tEnd, 6), ticksOf(posLo, posHi, 5), "time t (= λ)",
         DATA.axis_title);
    ctx.save();
    clip(ctx, p);
    const st = DATA.spacetime;
    if (st.heat) {  // density of the sampled frames (log counts in [0, 1])
      const times = arrays.heat_t, level = arrays.heat_z, nb = st.heat.bins;
      const edges = (i) => posLo + ((posHi - posLo) * i) / nb;
      for (let j = 0; j + 1 < times.length; j++) {
        const xa = p.xs(times[j]), xb = p.xs(times[j + 1]);
        for (let i = 0; i < nb; i++) {
          const z = level[j * nb + i];
          if (!(z > 0)) continue;
          ctx.fillStyle = `rgba(60,60,60,${(0.15 + 0.75 * z).toFixed(3)})`;
          const ya = p.ys(edges(i + 1)), yb = p.ys(edges(i));
          ctx.fillRect(xa, ya, Math.max(xb - xa, 1), Math.max(yb - ya, 1));
        }
      }
    }
    const t0 = arrays.seg_t0, t1 = arrays.seg_t1, x0 = arrays.seg_x0, x1 = arrays.seg_x1;
    const colour = arrays.seg_colour;
    ctx.lineWidth = 1.2;
    const kind = st.polylines ? "poly" : "seg";
    for (let c = 0; c < PALETTE.length; c++) {
      ctx.strokeStyle = PALETTE[c];
      ctx.beginPath();
      if (kind === "seg") {
        for (let i = 0; i < t0.length; i++) {
          if (colour[i] !== c) continue;
          ctx.moveTo(p.xs(t0[i]), p.ys(x0[i]));
          ctx.lineTo(p.xs(t1[i]), p.ys(x1[i]));
        }
      } else {  // one polyline per particle through the frame times (the family)
        const tt = arrays.poly_t, yy = arrays.poly_y, nt = tt.length;
        for (let i = 0; i < colour.length; i++) {
          if (colour[i] !== c) continue;
          for (let j = 0; j < nt; j++) {
            const x = p.xs(tt[j]), y = p.ys(yy[i * nt + j]);
            if (j === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
          }
        }
      }
      ctx.stroke();
    }
    if (DATA.wall) {
      ctx.strokeStyle = "#222"; ctx.lineWidth = 3;
      ctx.beginPath(); ctx.moveTo(p.x0, p.ys(0)); ctx.lineTo(p.x1, p.ys(0)); ctx.stroke();
    }
    ctx.restore();
    if (DATA.lam <= tEnd) lamLine(ctx, p, p.xs(DATA.lam), true, false);
  }
  function drawTree(p) {
    const ctx = p.bg.getContext("2d");
    ctx.clearRect(0, 0, p.w, p.h);
    const tr = DATA.tree;
    p.xs = linear(0, tr.width, p.x0, p.x1);
    p.ys = linear(0, tEnd, p.y0, p.y1);
    axes(p, ctx, p.xs, p.ys, [], ticksOf(0, tEnd, 5), "", "merge time");
    ctx.save();
    clip(ctx, p);
    const ic = arrays.tree_x, dc = arrays.tree_y, colour = arrays.tree_colour;
    ctx.lineWidth = 1;
    for (let c = 0; c < PALETTE.length; c++) {
      ctx.strokeStyle = PALETTE[c];
      ctx.beginPath();
      for (let i = 0; i < colour.length; i++) {
        if (colour[i] !== c) continue;
        ctx.moveTo(p.xs(ic[4 * i]), p.ys(dc[4 * i]));
        for (let k = 1; k < 4; k++) ctx.lineTo(p.xs(ic[4 * i + k]), p.ys(dc[4 * i + k]));
      }
      ctx.stroke();
    }
    if (tr.leaves) {
      const lx = arrays.leaf_x, ly = arrays.leaf_y, lr = arrays.leaf_r, lc = arrays.leaf_colour;
      for (let i = 0; i < lx.length; i++) {
        ctx.fillStyle = PALETTE[lc[i]];
        ctx.beginPath();
        ctx.arc(p.xs(lx[i]), p.ys(ly[i]), lr[i], 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    ctx.restore();
    if (DATA.lam <= tEnd) lamLine(ctx, p, p.ys(DATA.lam), false, true);
  }
  function drawShared(p) {
    const ctx = p.bg.getContext("2d");
    ctx.clearRect(0, 0, p.w, p.h);
    const top = Math.max(DATA.d, 2) * 1.25;
    p.xs = linear(0, tEnd, p.x0, p.x1);
    p.ys = logScale(0.8, top, p.y0, p.y1);
    const yTicks = decades(0.8, top).map((k) => [Math.pow(10, k), decadeLabel(k)]);
    axes(p, ctx, p.xs, p.ys, ticksOf(0, tEnd, 8), yTicks, "λ", "shared values");
    ctx.save();
    clip(ctx, p);
    const x = arrays.count_x, y = arrays.count_y;
    ctx.strokeStyle = "#1f77b4";
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let i = 0; i < x.length; i++) {  // steps: the count holds until the next drop
      const px = p.xs(x[i]), py = p.ys(Math.max(y[i], 0.8));
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, p.ys(Math.max(y[i - 1], 0.8)));
      ctx.lineTo(px, py);
    }
    ctx.stroke();
    ctx.restore();
    if (DATA.lam <= tEnd) lamLine(ctx, p, p.xs(DATA.lam), true, false);
  }

  // ------------------------------------------------------------- one frame
  // A frame: {t, n, note, x, mass, colour, count (how many marks), density (or null)}.
  const nBins = DATA.density_bins;
  const binOf = (v) => Math.min(nBins - 1, Math.max(0, Math.floor(
    ((v / 2 - posLo / 2) / (posHi / 2 - posLo / 2)) * nBins)));
  const count = (n) => n.toLocaleString("en-US");
  function note(n, dense) {  // as demo/animation.py's _frame_note (no wall in this mode)
    const text = count(n) + (n === 1 ? " cluster" : " clusters");
    if (!dense) return text + " (disc area: particles in the cluster)";
    return text + `: more than ${count(DATA.max_marks)} to draw, so the bars show the ` +
      `density of the ${count(DATA.d)} particles`;
  }
  let frameAt, tOf, posOfT, END;
  if (DATA.mode === "events") {
    // The exact state at any t from the event log: sorted start positions xs and the
    // time gap[g] at which sorted neighbours g, g+1 meet. At t the clusters are the
    // runs whose inner gaps have closed; a run [a, b] sits at its mean start position
    // plus t times its mean velocity (d - 1 - a - b) / (d - 1), in units of a power of
    // two (exact scaling), clipped to [xs[0], xs[d-1]] like the Python side.
    const xs = arrays.xs, gap = arrays.gap, d = DATA.d, scale = DATA.scale;
    const prefix = new Float64Array(d + 1);
    for (let i = 0; i < d; i++) prefix[i + 1] = prefix[i] + xs[i] / scale;
    const fx = new Float64Array(d), fm = new Float64Array(d), fc = new Uint8Array(d);
    const dens = new Float64Array(nBins);
    END = DATA.end;
    frameAt = (t) => {
      const tt = Math.min(t, DATA.lam_max) / scale;
      let n = 0, a = 0;
      for (let g = 0; g < d; g++) {
        if (g < d - 1 && !(gap[g] > t)) continue;
        const m = g - a + 1;
        const v = d > 1 ? (d - 1 - a - g) / (d - 1) : 0;
        let x = ((prefix[g + 1] - prefix[a]) / m + tt * v) * scale;
        x = Math.min(Math.max(x, xs[0]), xs[d - 1]);
        fx[n] = x; fm[n] = m; fc[n] = (a * DATA.colour_hash) % PALETTE.length;
        n++; a = g + 1;
      }
      let density = null;
      if (n > DATA.max_marks) {
        dens.fill(0);
        for (let i = 0; i < n; i++) dens[binOf(fx[i])] += fm[i];
        density = dens;
      }
      return { t, n, note: note(n, density !== null), x: fx, mass: fm, colour: fc,
               count: density ? 0 : n, density };
    };
    tOf = (k) => (k >= DATA.steps ? END : (END * k) / DATA.steps);
    posOfT = (t) => (END > 0 ? Math.round((t / END) * DATA.steps) : 0);
  } else {
    // Frames sampled by the Python side: frame j is the exact state at times[j].
    const offsets = arrays.mark_offsets, densityIndex = arrays.density_index;
    END = DATA.times[DATA.times.length - 1];
    frameAt = (j) => {
      const k = densityIndex[j], lo = offsets[j], hi = offsets[j + 1];
      return { t: DATA.times[j], n: DATA.counts[j], note: DATA.frame_notes[j],
               x: arrays.mark_x.subarray(lo, hi), mass: arrays.mark_mass.subarray(lo, hi),
               colour: arrays.mark_colour.subarray(lo, hi), count: hi - lo,
               density: k >= 0 ? arrays.density.subarray(k * nBins, (k + 1) * nBins) : null };
    };
  }
  const STEPS = DATA.mode === "events" ? DATA.steps : DATA.times.length - 1;

  function drawParticles(p, f) {
    const ctx = p.fg.getContext("2d");
    ctx.clearRect(0, 0, p.w, p.h);
    if (!p.axesDrawn) {
      const bgc = p.bg.getContext("2d");
      bgc.clearRect(0, 0, p.w, p.h);
      p.xs = linear(posLo, posHi, p.x0, p.x1);
      axes(p, bgc, p.xs, (v) => v, ticksOf(posLo, posHi, 8), [], DATA.axis_title, "");
      if (DATA.wall) {
        bgc.strokeStyle = "#222"; bgc.lineWidth = 3;
        bgc.beginPath(); bgc.moveTo(p.xs(0), p.y1); bgc.lineTo(p.xs(0), p.y0); bgc.stroke();
      }
      p.axesDrawn = true;
    }
    const mid = (p.y0 + p.y1) / 2;
    ctx.save();
    clip(ctx, p);
    if (f.density) {  // too many clusters: the density of the particles
      let peak = 1;
      for (let i = 0; i < nBins; i++) peak = Math.max(peak, f.density[i]);
      ctx.fillStyle = "rgba(100,100,100,0.6)";
      const height = (p.y0 - p.y1) * 0.95;
      for (let i = 0; i < nBins; i++) {
        const c = f.density[i];
        if (!c) continue;
        const xa = p.xs(posLo + ((posHi - posLo) * i) / nBins);
        const xb = p.xs(posLo + ((posHi - posLo) * (i + 1)) / nBins);
        const hgt = (height * c) / peak;
        ctx.fillRect(xa, p.y0 - hgt, Math.max(xb - xa - 0.5, 0.5), hgt);
      }
    } else {
      const maxR = Math.min(28, (p.y0 - p.y1) / 2 - 2), d = DATA.d;
      ctx.globalAlpha = 0.8;
      ctx.strokeStyle = "white";
      ctx.lineWidth = 0.5;
      for (let i = 0; i < f.count; i++) {
        const r = Math.max(3, maxR * Math.sqrt(f.mass[i] / d));  // area grows with the mass
        ctx.fillStyle = PALETTE[f.colour[i]];
        ctx.beginPath();
        ctx.arc(p.xs(f.x[i]), mid, r, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
      }
    }
    ctx.restore();
  }
  function cursor(p, vertical, coord) {
    const ctx = p.fg.getContext("2d");
    ctx.clearRect(0, 0, p.w, p.h);
    ctx.save();
    ctx.strokeStyle = "#333";
    ctx.lineWidth = 1.5;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    if (vertical) { ctx.moveTo(coord, p.y1); ctx.lineTo(coord, p.y0); }
    else { ctx.moveTo(p.x0, coord); ctx.lineTo(p.x1, coord); }
    ctx.stroke();
    ctx.restore();
    return ctx;
  }

  const playButton = q("wsp-play"), slider = q("wsp-slider"), timeLabel = q("wsp-time");
  // pos: the time t (events) or the frame index (frames).
  const state = { pos: 0, playing: false, drawn: 0, startedAt: 0, startPos: 0 };
  let lastFrame = null;
  function show(pos) {
    state.pos = pos;
    const f = frameAt(pos);
    lastFrame = f;
    drawParticles(panels.particles, f);
    panels.particles.title.textContent = `t = ${fmt(f.t)}: ${f.note}`;
    cursor(panels.spacetime, true, panels.spacetime.xs(f.t));
    if (panels.tree) cursor(panels.tree, false, panels.tree.ys(f.t));
    const ctx = cursor(panels.shared, true, panels.shared.xs(f.t));
    const y = panels.shared.ys(Math.max(f.n, 0.8)), x = panels.shared.xs(f.t);
    ctx.fillStyle = "#333";
    ctx.beginPath(); ctx.arc(x, y, 4, 0, 2 * Math.PI); ctx.fill();
    ctx.font = "12px sans-serif";
    ctx.fillText(f.n.toLocaleString("en-US"), x + 6, y - 6);
    slider.value = String(DATA.mode === "events" ? posOfT(f.t) : pos);
    timeLabel.textContent = `t = λ = ${fmt(f.t)}`;
    state.drawn++;
    root.dataset.t = String(f.t);
    root.dataset.drawn = String(state.drawn);
  }
  const atEnd = () => (DATA.mode === "events" ? state.pos >= END : state.pos >= STEPS);
  function setPlaying(on) {
    if (on && atEnd()) state.pos = 0;  // Play at the end starts again
    state.playing = on;
    state.startedAt = performance.now();
    state.startPos = state.pos;
    playButton.textContent = on ? "❚❚ Pause" : "▶ Play";
    root.dataset.playing = on ? "1" : "0";
    if (on) requestAnimationFrame(tick);
  }
  function tick(now) {
    if (!state.playing) return;
    const elapsed = Math.max(now - state.startedAt, 0) / 1000;
    // By the clock, whatever the screen's rate: the whole range in DATA.play_seconds.
    let pos, done;
    if (DATA.mode === "events") {
      pos = Math.min(END, state.startPos + (elapsed * END) / DATA.play_seconds);
      done = pos >= END;
    } else {
      pos = Math.min(STEPS, state.startPos + Math.floor(elapsed * DATA.fps));
      done = pos >= STEPS;
    }
    if (pos !== state.pos) show(pos);
    if (done) { setPlaying(false); return; }
    requestAnimationFrame(tick);
  }
  playButton.addEventListener("click", () => setPlaying(!state.playing));
  slider.addEventListener("input", () => {
    if (state.playing) setPlaying(false);
    const k = Number(slider.value);
    show(DATA.mode === "events" ? tOf(k) : k);
  });

  function layout() {
    for (const p of Object.values(panels)) if (p) { size(p); p.axesDrawn = false; }
    drawSpacetime(panels.spacetime);
    if (panels.tree) drawTree(panels.tree);
    drawShared(panels.shared);
    show(state.pos);
  }
  slider.max = String(STEPS);
  layout();
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(layout, 100);
  });
  // For tests and the console: the state at a time or frame, drawn or not.
  root.player = { state, show, setPlaying, frameAt, data: DATA,
                  shown: () => lastFrame && { t: lastFrame.t, n: lastFrame.n,
                    x: Array.from(lastFrame.x.subarray(0, lastFrame.count)),
                    mass: Array.from(lastFrame.mass.subarray(0, lastFrame.count)) } };
  root.dataset.ready = "1";
})(document.getElementById("__ROOT_ID__"));
