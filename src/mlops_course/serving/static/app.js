// Upload or draw a digit, POST it to /predict as multipart form data, show the answer.
"use strict";

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");

function clearPad() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
}

function show(result) {
  document.getElementById("error").textContent = "";
  const prediction = result.predictions[0];
  document.getElementById("label").textContent = prediction.label;
  const body = document.querySelector("#probabilities tbody");
  body.replaceChildren();
  for (const [label, p] of Object.entries(prediction.probabilities)) {
    const row = body.insertRow();
    row.insertCell().textContent = label;
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = `${Math.round(p * 200)}px`;
    row.insertCell().append(bar);
    row.insertCell().textContent = p.toFixed(3);
  }
}

async function classify(blob) {
  const form = new FormData();
  form.append("image", blob, "digit.png");
  document.getElementById("label").textContent = "…";
  const response = await fetch("predict", { method: "POST", body: form });
  const result = await response.json();
  if (!response.ok) {
    document.getElementById("label").textContent = "–";
    document.getElementById("error").textContent = result.error;
    return;
  }
  show(result);
}

document.getElementById("upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const file = document.getElementById("image-input").files[0];
  if (file) classify(file);
});

let drawing = false;
function point(event) {
  const box = pad.getBoundingClientRect();
  return [event.clientX - box.left, event.clientY - box.top];
}
pad.addEventListener("pointerdown", (event) => {
  drawing = true;
  ctx.beginPath();
  ctx.moveTo(...point(event));
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  ctx.lineWidth = 18;
  ctx.lineCap = "round";
  ctx.strokeStyle = "#000";
  ctx.lineTo(...point(event));
  ctx.stroke();
});
window.addEventListener("pointerup", () => { drawing = false; });
document.getElementById("clear").addEventListener("click", clearPad);
document.getElementById("classify-drawing").addEventListener("click", () => {
  pad.toBlob((blob) => classify(blob), "image/png");
});
clearPad();
