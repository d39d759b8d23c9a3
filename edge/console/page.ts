/** The console's HTML: the sign-in form and one section per page; console.js fills them from the API. */
export function consolePage(base: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rankgate console</title>
<link rel="stylesheet" href="${base}/console.css">
<script type="module" src="${base}/console.js"></script>
</head>
<body>
<header>
  <h1>rankgate</h1>
  <nav id="nav" hidden>
    <a href="#adapters" data-page="adapters">Adapters</a>
    <a href="#jobs" data-page="jobs">Jobs</a>
    <a href="#merges" data-page="merges">Merges</a>
    <a href="#playground" data-page="playground">Playground</a>
    <button type="button" id="sign-out">Sign out</button>
  </nav>
</header>
<main>
  <form id="sign-in">
    <h2>Sign in</h2>
    <p>Your API key stays in this tab (sessionStorage) and is sent only to this API.</p>
    <label>API key <input id="api-key" type="password" autocomplete="off" required placeholder="rg-..."></label>
    <button type="submit">Sign in</button>
    <p id="sign-in-error" class="error" role="alert"></p>
  </form>

  <section id="page-adapters" class="page" hidden>
    <h2>Adapters</h2>
    <p class="error" role="alert"></p>
    <table id="adapters-table">
      <thead><tr><th>Name</th><th>Model</th><th>Version</th><th>Status</th><th>Rank</th><th>Targets</th><th>Size</th><th>Source</th><th>Pinned</th><th></th></tr></thead>
      <tbody></tbody>
    </table>
    <div id="adapter-versions" hidden>
      <h3>Versions of <span id="adapter-versions-name"></span></h3>
      <table id="versions-table">
        <thead><tr><th>Version</th><th>Served by the name</th><th>Model</th><th>Status</th><th>Rank</th><th>Source</th><th>Created</th><th></th></tr></thead>
        <tbody></tbody>
      </table>
      <p id="promote-result" role="status"></p>
    </div>
  </section>

  <section id="page-jobs" class="page" hidden>
    <h2>Fine-tuning jobs</h2>
    <p class="error" role="alert"></p>
    <table id="jobs-table">
      <thead><tr><th>Job</th><th>Model</th><th>Status</th><th>Fine-tuned model</th><th>Trained tokens</th><th></th></tr></thead>
      <tbody></tbody>
    </table>
    <div id="job-detail" hidden>
      <h3>Loss of <span id="job-detail-id"></span> (<span id="job-detail-status"></span>)</h3>
      <div id="loss-chart"></div>
      <p id="loss-summary"></p>
    </div>
    <h2>Quantization jobs</h2>
    <table id="quantizations-table">
      <thead><tr><th>Job</th><th>Base model</th><th>Bits</th><th>Group size</th><th>Status</th><th>Serves</th><th>Stored</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>

  <section id="page-merges" class="page" hidden>
    <h2>Merges</h2>
    <p class="error" role="alert"></p>
    <table id="merges-table">
      <thead><tr><th>Name</th><th>Method</th><th>Status</th><th>Storage</th><th>Members: error, revert</th><th>Reverts</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="revert-result" role="status"></p>
  </section>

  <section id="page-playground" class="page" hidden>
    <h2>Playground</h2>
    <p class="error" role="alert"></p>
    <form id="playground-form">
      <label>Model <input id="playground-model" list="playground-models" required placeholder="base, base:adapter or base@int4"></label>
      <datalist id="playground-models"></datalist>
      <fieldset id="playground-mix">
        <legend>Mix adapters (optional): Σ weight × adapter on the base named in Model</legend>
        <div id="playground-mix-rows"></div>
        <button type="button" id="playground-add-adapter">Add adapter</button>
      </fieldset>
      <datalist id="playground-adapters"></datalist>
      <label>Message <textarea id="playground-prompt" rows="3" required></textarea></label>
      <label>Max tokens <input id="playground-max-tokens" type="number" min="1" value="64"></label>
      <label>Temperature <input id="playground-temperature" type="number" min="0" max="2" step="0.1" value="0"></label>
      <button type="submit" id="playground-send">Send</button>
    </form>
    <p id="playground-status" role="status"></p>
    <pre id="playground-output"></pre>
  </section>
</main>
</body>
</html>
`;
}
