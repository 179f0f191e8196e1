// plover demo page: wires the controls to a WebPipeline (the wasm package in ./pkg), runs a
// paced producer and consumer, and draws the metrics on a canvas. It signals readiness to
// tests through <body data-ready="1"> and data-state="idle|running|stopping|stopped".
import init, { WebPipeline } from './pkg/plover_web.js';

const $ = (id) => document.getElementById(id);
const DB_NAME = 'plover-demo';
const PERSIST_KEY = 'plover-demo-persist';
const SAMPLE_MS = 250;
const SAMPLES = 240; // one minute

const series = [
  { key: 'depth', label: 'queue depth', color: '#2d6cdf' },
  { key: 'throughput', label: 'throughput /s', color: '#2f9e5b' },
  { key: 'evicted', label: 'evicted (total)', color: '#d9822b' },
  { key: 'refused', label: 'refused (total)', color: '#c23030' },
];
const history = [];

let pipeline = null;
let producing = false;
let producer = Promise.resolve();
let published = 0;
let consumerDue = 0;

function setState(state) {
  document.body.dataset.state = state;
  const busy = state === 'running' || state === 'stopping';
  $('start').disabled = busy || !pipeline;
  $('stop').disabled = state !== 'running';
  for (const id of ['capacity', 'policy', 'persistence']) $(id).disabled = busy;
}

function say(text) {
  $('message').textContent = text;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Builds a pipeline from the controls; with persistence it replays what an earlier page left.
async function createPipeline() {
  if (pipeline) {
    await pipeline.stop();
    pipeline.free();
    pipeline = null;
  }
  const persistence = $('persistence').checked;
  localStorage.setItem(PERSIST_KEY, persistence ? '1' : '0');
  const p = await WebPipeline.create({
    capacity: Number($('capacity').value),
    policy: $('policy').value,
    persistence: persistence ? DB_NAME : null,
  });
  // The consumer's speed is simulated work: each event takes 1/speed seconds.
  p.intercept('Process', () => {
    const now = performance.now();
    consumerDue = Math.max(consumerDue, now) + 1000 / Number($('speed').value);
    const wait = consumerDue - now;
    if (wait > 4) return sleep(wait);
    return undefined;
  });
  p.onDropped(() => {}); // counted by the queue; the chart reads the totals
  pipeline = p;
  history.length = 0;
  // The consumer runs at once, so replayed events are handled even before Start.
  pipeline.start();
  render(); // the figures of the new pipeline at once, not the page's or the last one's
  const replayed = pipeline.replayed;
  $('replayed').textContent = String(replayed);
  if (persistence) {
    say(replayed > 0
      ? `Replayed ${replayed} event${replayed === 1 ? '' : 's'} not handled before the reload.`
      : 'Persistence on: events are kept in IndexedDB until handled.');
  } else {
    say('Persistence off: events live in memory only.');
  }
}

async function produce() {
  let last = performance.now();
  let owed = 0;
  while (producing) {
    await sleep(20);
    const now = performance.now();
    owed += (Number($('rate').value) * (now - last)) / 1000;
    last = now;
    const count = Math.min(Math.floor(owed), 500);
    owed -= count;
    if (count === 0) continue;
    const batch = [];
    for (let i = 0; i < count; i++) batch.push({ n: ++published, at: Date.now() });
    try {
      await pipeline.publishMany(batch); // under "block" this waits for room
    } catch (e) {
      say(`Publishing failed: ${e.message}`);
      producing = false;
    }
    // Time spent blocked is not owed: backpressure slows the producer down.
    last = Math.max(last, performance.now() - 40);
  }
}

async function start() {
  if (!pipeline || producing) return;
  setState('running');
  pipeline.start();
  producing = true;
  producer = produce();
  say(`Running with ${$('policy').value}.`);
}

// Stops the producer, then the consumer; what is queued stays queued (and persisted).
async function stop() {
  setState('stopping');
  producing = false;
  await producer;
  await pipeline.stop();
  render();
  const m = pipeline.metrics();
  say(`Stopped. ${m.depth} queued` + ($('persistence').checked
    ? `, ${m.pending} persisted and not yet handled: reload the page to replay them.`
    : '.'));
  setState('stopped');
}

function render() {
  if (!pipeline) return;
  const m = pipeline.metrics();
  for (const key of ['depth', 'pushed', 'processed', 'evicted', 'refused', 'pending']) {
    $(key).textContent = String(m[key]);
  }
  $('throughput').textContent = String(Math.round(m.throughput));
}

function sample() {
  if (!pipeline) return;
  const m = pipeline.metrics();
  history.push(m);
  if (history.length > SAMPLES) history.shift();
  draw();
}

function draw() {
  const canvas = $('chart');
  const ctx = canvas.getContext('2d');
  const w = canvas.width;
  const h = canvas.height;
  const pad = { l: 8, r: 8, t: 10, b: 18 };
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = '#e3e7ee';
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = pad.t + ((h - pad.t - pad.b) * i) / 4;
    ctx.beginPath();
    ctx.moveTo(pad.l, y);
    ctx.lineTo(w - pad.r, y);
    ctx.stroke();
  }
  ctx.fillStyle = '#5b6475';
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillText('last 60 s; each line scaled to its own maximum (see legend)', pad.l, h - 4);
  const legend = [];
  for (const s of series) {
    const values = history.map((m) => m[s.key]);
    const max = Math.max(1, ...values);
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    values.forEach((v, i) => {
      const x = pad.l + ((w - pad.l - pad.r) * i) / (SAMPLES - 1);
      const y = h - pad.b - ((h - pad.t - pad.b) * v) / max;
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
    const now = values.length ? Math.round(values[values.length - 1]) : 0;
    legend.push(`<li style="--c:${s.color}">${s.label}: ${now} (max ${Math.round(max)})</li>`);
  }
  $('legend').innerHTML = legend.join('');
}

function bindControls() {
  for (const id of ['rate', 'speed']) {
    $(id).addEventListener('input', () => { $(`${id}-out`).textContent = $(id).value; });
  }
  for (const id of ['capacity', 'policy', 'persistence']) {
    $(id).addEventListener('change', async () => {
      document.body.dataset.ready = '0';
      try {
        await createPipeline();
        setState('idle');
        document.body.dataset.ready = '1';
      } catch (e) {
        say(`Could not create the pipeline: ${e.message}`);
      }
    });
  }
  $('start').addEventListener('click', start);
  $('stop').addEventListener('click', stop);
}

async function main() {
  await init();
  $('persistence').checked = localStorage.getItem(PERSIST_KEY) === '1';
  bindControls();
  try {
    await createPipeline();
  } catch (e) {
    say(`Could not create the pipeline: ${e.message}`);
    document.body.dataset.state = 'error';
    return;
  }
  setState('idle');
  setInterval(render, 100);
  setInterval(sample, SAMPLE_MS);
  window.ploverDemo = { metrics: () => pipeline.metrics(), start, stop };
  document.body.dataset.ready = '1';
}

main();
