// Refreshes the job monitoring dashboard from ?fragment=1 (a static file: the page runs under the CSP).
(function () {
  const box = document.getElementById("monitoring");
  const status = document.getElementById("monitoring-status");
  const seconds = Number(box.dataset.refreshSeconds);
  const url = new URL(window.location.href);
  url.searchParams.set("fragment", "1");
  async function refresh() {
    try {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (response.redirected || !response.ok) {
        // Signed out, or no longer staff: stop, and say so rather than show a login form in the page.
        status.textContent = "Updates stopped (" + (response.redirected ? "signed out" : "HTTP " + response.status) + "). Reload the page.";
        return;
      }
      box.innerHTML = await response.text();
      status.textContent = "Updated " + new Date().toLocaleTimeString() + "; updates every " + seconds + " s.";
    } catch (error) {
      status.textContent = "Could not reach the server (" + error.message + "); retrying.";
    }
    setTimeout(refresh, seconds * 1000);
  }
  setTimeout(refresh, seconds * 1000);
})();
