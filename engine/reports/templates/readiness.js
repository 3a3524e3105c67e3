// Filters of the readiness report. Reads only data-* attributes the report wrote (escaped), writes only
// the hidden and open flags and text, so no evidence value is ever parsed as HTML.
(function () {
  "use strict";
  var status = document.getElementById("filter-status");
  var system = document.getElementById("filter-system");
  var group = document.getElementById("filter-group");
  var count = document.getElementById("filter-count");

  function systemsOf(element) {
    return JSON.parse(element.getAttribute("data-systems") || "[]");
  }

  function keep(element, useGroup) {
    if (status.value && element.getAttribute("data-status") !== status.value) { return false; }
    if (useGroup && group.value && element.getAttribute("data-group") !== group.value) { return false; }
    if (system.value && systemsOf(element).indexOf(system.value) < 0) { return false; }
    return true;
  }

  function apply() {
    var shown = 0;
    var rows = document.querySelectorAll("tr.control-row");
    rows.forEach(function (row) {
      var ok = keep(row, true);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    document.querySelectorAll("section.control").forEach(function (section) {
      section.hidden = !keep(section, true);
    });
    document.querySelectorAll("tr.finding").forEach(function (row) {
      var statusOk = !status.value || status.value === "not_assessed" ||
        row.getAttribute("data-status") === status.value;
      var systemOk = !system.value || systemsOf(row).indexOf(system.value) >= 0;
      row.hidden = !(statusOk && systemOk);
    });
    count.textContent = shown + " of " + rows.length + " controls shown";
  }

  // On paper nothing can be clicked open: print each AI system's evidence list unfolded, and fold it back
  // afterwards. Other folded sections (witnesses, evidence data) stay out of print unless opened.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = [];
    document.querySelectorAll("details.system-evidence:not([open])").forEach(function (details) {
      details.open = true;
      opened.push(details);
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (details) { details.open = false; });
    opened = [];
  });

  [status, system, group].forEach(function (select) { select.addEventListener("change", apply); });
  apply();
}());
