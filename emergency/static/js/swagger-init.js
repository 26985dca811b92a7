// Starts Swagger UI on the API docs page (templates/swagger_ui.html) with the configuration
// the page carries in its JSON block.
(function () {
  var config = JSON.parse(document.getElementById("swagger-ui-config").textContent);
  window.ui = SwaggerUIBundle(config);
})();
