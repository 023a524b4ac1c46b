document.getElementById("print-btn")?.addEventListener("click", () => window.print());
