// Progress of a solve run over server-sent events; goes to the plan when it is done.
(function () {
  const box = document.getElementById("run");
  if (!box) return;
  const bar = document.getElementById("bar");
  const state = document.getElementById("state");
  const figures = document.getElementById("figures");
  const result = document.getElementById("result");
  const msg = (key) => state.dataset["msg" + key.charAt(0).toUpperCase() + key.slice(1)] || key;
  function show(run) {
    bar.value = run.percent;
    state.textContent = msg(run.state) + (run.phase && run.state === "running" ? " · " + msg(run.phase) : "");
    const parts = [];
    if (run.unmet !== null && run.demand !== null) parts.push(msg("unmet") + " " + run.unmet + " / " + run.demand);
    if (run.objective !== null) parts.push(msg("objective") + " " + Math.round(run.objective));
    figures.textContent = parts.join(" · ");
    if (run.state === "failed" && run.error) figures.textContent += " · " + run.error;
  }
  if (box.dataset.state === "done" || box.dataset.state === "failed") return;
  const source = new EventSource("/api/v1/schedule/runs/" + box.dataset.run + "/events");
  source.addEventListener("progress", (e) => show(JSON.parse(e.data)));
  source.addEventListener("done", (e) => {
    const run = JSON.parse(e.data);
    source.close();
    show(run);
    if (run.plan_id) {
      result.href = "/schedule/plans/" + run.plan_id;
      result.hidden = false;
      window.location.assign(result.href);
    }
  });
})();
