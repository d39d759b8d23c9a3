/** The console's stylesheet (served as /console/console.css: the page's policy allows no inline style). */
export const CONSOLE_STYLE = `
:root { font-family: system-ui, sans-serif; color: #1d2430; background: #f7f8fa; }
body { margin: 0; }
/* The pages switch with the hidden attribute, which a display rule below would otherwise override. */
[hidden] { display: none !important; }
header { display: flex; align-items: center; gap: 2rem; padding: 0.5rem 1.5rem; background: #1d2430; color: #fff; }
header h1 { font-size: 1.2rem; margin: 0; }
nav { display: flex; gap: 1rem; align-items: center; }
nav a { color: #cfd8e3; text-decoration: none; }
nav a.active { color: #fff; font-weight: 600; }
main { padding: 1rem 1.5rem; }
table { border-collapse: collapse; background: #fff; min-width: 40rem; }
th, td { border: 1px solid #d9dee5; padding: 0.3rem 0.6rem; text-align: left; font-size: 0.9rem; vertical-align: top; }
th { background: #eef1f5; }
form { display: flex; flex-direction: column; gap: 0.6rem; max-width: 32rem; }
label { display: flex; flex-direction: column; gap: 0.2rem; font-size: 0.9rem; }
input, textarea { font: inherit; padding: 0.3rem; }
button { font: inherit; cursor: pointer; width: fit-content; }
.error { color: #b42318; }
.error:empty, #revert-result:empty, #promote-result:empty { display: none; }
#loss-chart svg { background: #fff; border: 1px solid #d9dee5; }
#loss-chart .train { stroke: #2563eb; }
#loss-chart .valid { stroke: #d97706; }
#loss-chart .axis { stroke: #8a94a3; }
#loss-chart text { font-size: 11px; fill: #4b5565; }
pre { background: #fff; border: 1px solid #d9dee5; padding: 0.6rem; min-height: 3rem; white-space: pre-wrap; max-width: 48rem; }
fieldset { border: 1px solid #d9dee5; display: flex; flex-direction: column; gap: 0.4rem; font-size: 0.9rem; }
.mix-row { display: flex; gap: 0.5rem; align-items: center; }
.mix-weight { width: 6rem; }
.member { display: flex; gap: 0.5rem; align-items: center; }
`;
