// The monthly report's "Print / save as PDF" button (no inline script: the CSP allows none).
document.getElementById("report-print")?.addEventListener("click", () => window.print());
