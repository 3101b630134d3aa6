// /docs/api: Redoc renders /openapi.json (the document the API tests check
// every answer against). Without Redoc installed, the page says how to get it.
if (window.Redoc) {
  window.Redoc.init('/openapi.json', {
    expandResponses: '200,201,202',
    pathInMiddlePanel: true,
    hideHostname: true,
  }, document.getElementById('reference'));
} else {
  document.getElementById('missing').hidden = false;
}
