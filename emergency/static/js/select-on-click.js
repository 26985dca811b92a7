// Inputs marked data-select-on-click select their whole value when clicked (a URL to copy).
(function () {
  document.querySelectorAll("[data-select-on-click]").forEach(function (input) {
    input.addEventListener("click", function () { input.select(); });
  });
})();
