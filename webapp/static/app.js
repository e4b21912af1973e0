// Small progressive enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // A slow network must not turn one click into two actions on a slip.
  document.querySelectorAll("form.action-form").forEach((form) => {
    form.addEventListener("submit", () => {
      form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
    });
  });
  // Changing a drop-down filter applies it at once.
  const filters = document.getElementById("filters");
  if (filters) {
    filters.querySelectorAll("select").forEach((s) => s.addEventListener("change", () => filters.submit()));
  }
  // Whole queue rows are clickable, not only the slip number (check boxes select, they do not open).
  document.querySelectorAll("table.queue tbody tr[data-slip]").forEach((row) => {
    row.addEventListener("click", (e) => {
      if (e.target.closest("a, input, label, button, select")) return;
      window.location.href = "/slips/" + encodeURIComponent(row.dataset.slip);
    });
  });
  // Select every slip on the page for a bulk action.
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll("#bulk input[name=slip_no]").forEach((box) => { box.checked = all.checked; });
    });
  }
  // Keep the countdowns current while the page stays open.
  const span = (ms) => {
    const minutes = Math.floor(Math.abs(ms) / 60000);
    const days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), mins = minutes % 60;
    if (days) return `${days}天${hours}小时`;
    if (hours) return `${hours}小时${mins}分`;
    return `${mins}分钟`;
  };
  const tick = () => {
    document.querySelectorAll(".countdown[data-due]").forEach((el) => {
      if (!el.dataset.due) return;
      const left = new Date(el.dataset.due).getTime() - Date.now();
      const first = el.firstChild;
      if (first && first.nodeType === Node.TEXT_NODE) {
        first.textContent = left < 0 ? `已超期 ${span(left)}` : `剩余 ${span(left)}`;
      }
    });
  };
  setInterval(tick, 30000);
});
