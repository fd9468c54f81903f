// Easy Upload page: plain JS, no build step. The bearer token stays in sessionStorage;
// EventSource (which cannot send headers) gets a short-lived stream token instead.
"use strict";

const $ = (id) => document.getElementById(id);
const tokenKey = "easy-upload-token";

function bearer() {
  return sessionStorage.getItem(tokenKey) || "";
}

function show(state, text) {
  $("state").dataset.state = state;
  $("state").textContent = text;
}

async function api(path, options = {}) {
  const headers = { Authorization: "Bearer " + bearer(), ...(options.headers || {}) };
  const response = await fetch(path, { ...options, headers });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = (body.error && body.error.message) || response.statusText;
    throw new Error(response.status + ": " + message);
  }
  return body;
}

async function onCompleted(uploadId, data) {
  $("progress").value = 100;
  show("completed", "Completed.");
  const links = await api("/api/uploads/" + uploadId + "/download");
  $("download").href = links.url;
  $("result").hidden = false;
  if (links.thumbnail_url) {
    $("thumbnail").src = links.thumbnail_url;
    $("thumbnail").hidden = false;
  }
  $("manifest").textContent = JSON.stringify(data.manifest, null, 2);
  $("manifest").hidden = false;
}

async function watch(uploadId, resumeFrom) {
  const grant = await api("/api/uploads/" + uploadId + "/stream-token", { method: "POST" });
  let url = grant.events_url + "?token=" + encodeURIComponent(grant.token);
  if (resumeFrom) url += "&resume_from=" + resumeFrom;
  const source = new EventSource(url);
  let last = resumeFrom || 0;
  let finished = false;
  const update = (event) => {
    last = Number(event.lastEventId) || last;
    const data = JSON.parse(event.data);
    $("progress").value = data.progress || 0;
    show(data.state, "State: " + data.state + (data.stage ? " (" + data.stage + ")" : "") +
      " " + (data.progress || 0) + "%");
  };
  source.addEventListener("state", update);
  source.addEventListener("progress", update);
  source.addEventListener("completed", (event) => {
    finished = true;
    source.close();
    onCompleted(uploadId, JSON.parse(event.data)).catch((err) => show("failed", err.message));
  });
  source.addEventListener("failed", (event) => {
    finished = true;
    source.close();
    show("failed", "Failed: " + JSON.parse(event.data).reason);
  });
  source.onerror = () => {
    if (finished || source.readyState !== EventSource.CLOSED) return;
    // The server refused a reconnect (e.g. 503 during an outage): try again with a fresh token.
    setTimeout(() => watch(uploadId, last).catch((err) => show("failed", err.message)), 2000);
  };
}

async function upload(event) {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  $("result").hidden = true;
  $("thumbnail").hidden = true;
  $("manifest").hidden = true;
  $("progress").hidden = false;
  $("progress").value = 0;
  show("uploading", "Uploading " + file.name + "...");
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const created = await api("/api/uploads", { method: "POST", body: form });
    show(created.state, "Uploaded; state: " + created.state);
    await watch(created.id, 0);
  } catch (err) {
    show("failed", err.message);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("token").value = bearer();
  $("save-token").addEventListener("click", () => {
    sessionStorage.setItem(tokenKey, $("token").value.trim());
    show("idle", "Token saved for this tab.");
  });
  $("upload-form").addEventListener("submit", upload);
});
