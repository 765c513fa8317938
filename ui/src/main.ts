import { mount } from "svelte";
import App from "./App.svelte";
import { metrics } from "./lib/metrics";
import "./app.css";

metrics();
const target = document.getElementById("app");
if (!target) throw new Error("index.html lacks #app");
export default mount(App, { target });
