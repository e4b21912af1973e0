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
  // Whole queue rows are clickable, not only the slip number.
  document.querySelectorAll("table.queue tbody tr[data-slip]").forEach((row) => {
    row.addEventListener("click", (e) => {
      if (e.target.closest("a")) return;
      window.location.href = "/slips/" + encodeURIComponent(row.dataset.slip);
    });
  });
});
