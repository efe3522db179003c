/* stepwise simulator worker: runs the site's own Python model (a model's playground
   module, e.g. stepwise.models.tcp.playground) under Pyodide, off the page's main
   thread, so the page never freezes.

   Started by static/js/simulator.js as a module worker. Messages in:
     { id, init: { runtime, bundle, module } }  load Pyodide from `runtime` (a folder URL
                                        of this site), our packed Python from `bundle` (a
                                        zip), and import `module`
     { id, request }                    a JSON request for that module's handle()
   Messages out: { id, ready: true } | { id, response } (JSON text) | { id, failed }.
   Every URL is this site's own: nothing is fetched from anywhere else. */
let handle = null;
let loading = null;

let failInit = null;
// Emscripten reports some failures (WebAssembly refused by a Content-Security-Policy
// header) outside the promise loadPyodide returns: without this the page would wait forever
self.addEventListener('unhandledrejection', (e) => {
  if (failInit) failInit(e.reason);
});

const load = async ({ runtime, bundle, module }) => {
  // an empty module: refused at once where the site's policy forbids WebAssembly
  await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  const { loadPyodide } = await import(new URL('pyodide.mjs', runtime).href);
  const [pyodide, zip] = await Promise.all([
    // the model prints nothing; anything Python would print is a bug worth seeing
    loadPyodide({ indexURL: runtime, stdout: () => {}, stderr: (m) => console.warn(m) }),
    fetch(bundle).then((r) => {
      if (!r.ok) throw new Error(`${bundle}: HTTP ${r.status}`);
      return r.arrayBuffer();
    }),
  ]);
  pyodide.unpackArchive(zip, 'zip', { extractDir: '/home/pyodide/stepwise-sim' });
  pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide/stepwise-sim')");
  handle = pyodide.pyimport(module).handle;
};

self.onmessage = async (event) => {
  const { id, init, request } = event.data || {};
  try {
    if (init) {
      loading = loading || Promise.race([
        load(init), new Promise((resolve, reject) => { failInit = reject; })]);
      await loading;
      self.postMessage({ id, ready: true });
      return;
    }
    if (!handle) await loading;
    self.postMessage({ id, response: handle(request) });
  } catch (err) {
    self.postMessage({ id, failed: String((err && err.message) || err) });
  }
};
