// GraphiQL for this endpoint, from this service alone (no CDN, no inline script). Put
// {"Authorization": "Bearer <token>"} in the Headers tab (get a token from POST /oauth/token).
const url = window.location.href.split("?")[0];
const fetcher = GraphiQL.createFetcher({ url });
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    defaultHeaders: '{\n  "Authorization": "Bearer "\n}',
  }),
);
