import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "highlight.js/styles/github.css";
import "./styles.css";
import { resolveApi } from "./api/index.js";
import { App } from "./App.js";
import { createAppStore } from "./store/index.js";
import { StoreContext } from "./store/react.js";

const api = resolveApi();
const store = createAppStore(api);
void store.getState().actions.init();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <StoreContext.Provider value={store}>
      <App api={api} />
    </StoreContext.Provider>
  </StrictMode>,
);
