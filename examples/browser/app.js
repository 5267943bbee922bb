// liveloop browser example: microphone -> WebRTC -> the model; the handler runs on the server.
//
// The page asks `liveloop serve` for a call (POST /sessions/<name>/offer with its SDP offer);
// the server adds the handler's session config, forwards the offer to the provider with its
// own key (which never reaches this page) and returns the answer. From then on audio flows
// between this page and the provider directly, and the provider's events arrive on the
// "oai-events" data channel, which this page only reads to show the transcript.
//
// Settings come from the URL fragment (never sent to a server):
//   #token=DEMO_TOKEN&session=assistant&autostart=1
"use strict";

(() => {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token") || "";
  const sessionName = params.get("session") || "assistant";

  const startButton = document.getElementById("start");
  const hangupButton = document.getElementById("hangup");
  const statusLine = document.getElementById("status");
  const transcript = document.getElementById("transcript");
  const remoteAudio = document.getElementById("remote");

  // Exposed for debugging and tests: the peer connection, the remote stream, the events.
  const state = { pc: null, channel: null, mic: null, remoteStream: null, callUrl: null,
                  status: "idle", events: [], lines: [] };
  window.liveloop = state;

  function setStatus(text) {
    state.status = text;
    statusLine.textContent = text;
  }

  // The demo token only buys a caller token: the server signs it, names the caller and
  // lets it expire, so what identifies this tab is not something the page chose.
  let callerToken = null;

  async function fetchCallerToken() {
    const response = await fetch("caller_token", {
      method: "POST", headers: { "Authorization": "Bearer " + token },
    });
    if (!response.ok) throw new Error("no caller token (HTTP " + response.status + ")");
    callerToken = (await response.json()).token;
  }

  function authHeaders() {
    return { "Authorization": "Bearer " + callerToken };
  }

  // -- transcript ------------------------------------------------------------------------
  const partials = new Map(); // item id -> element of an assistant line being spoken

  function addLine(role, text, partial) {
    const line = document.createElement("div");
    line.className = "line " + role + (partial ? " partial" : "");
    line.textContent = text;
    transcript.appendChild(line);
    transcript.scrollTop = transcript.scrollHeight;
    return line;
  }

  function onEvent(event) {
    state.events.push(event.type);
    switch (event.type) {
      case "conversation.item.input_audio_transcription.completed":
        state.lines.push({ role: "user", text: event.transcript });
        addLine("user", event.transcript, false);
        break;
      case "response.output_audio_transcript.delta":
      case "response.output_text.delta": {
        let line = partials.get(event.item_id);
        if (!line) {
          line = addLine("assistant", "", true);
          partials.set(event.item_id, line);
        }
        line.textContent += event.delta;
        break;
      }
      case "response.output_audio_transcript.done":
      case "response.output_text.done": {
        const text = event.transcript ?? event.text ?? "";
        const line = partials.get(event.item_id) || addLine("assistant", "", false);
        line.textContent = text;
        line.classList.remove("partial");
        partials.delete(event.item_id);
        state.lines.push({ role: "assistant", text });
        break;
      }
      case "error":
        addLine("error", (event.error && event.error.message) || "error", false);
        break;
    }
  }

  // -- the call --------------------------------------------------------------------------
  function gatheringDone(pc, timeoutMs) {
    // The offer goes out whole (no trickle ICE): wait for the candidates, briefly.
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
      });
    });
  }

  // The server hangs up a call whose page does not say, within seconds, that its peer
  // connection is up: an offer that never connects must not hold a call slot.
  function confirmConnected() {
    if (!state.callUrl) return;
    fetch(state.callUrl.replace(/^\//, "") + "/connected", {
      method: "POST", headers: authHeaders(),
    }).catch(() => {});
  }

  async function start() {
    startButton.disabled = true;
    setStatus("asking for the microphone");
    try {
      state.mic = await navigator.mediaDevices.getUserMedia({ audio: true });
      const pc = new RTCPeerConnection();
      state.pc = pc;
      pc.ontrack = (e) => {
        state.remoteStream = e.streams[0] || new MediaStream([e.track]);
        remoteAudio.srcObject = state.remoteStream;
        remoteAudio.play().catch(() => {});
      };
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === "connected") {
          setStatus("connected: speak");
          confirmConnected();
        }
        if (pc.connectionState === "failed" || pc.connectionState === "closed") stop("ended");
      };
      for (const track of state.mic.getAudioTracks()) pc.addTrack(track, state.mic);
      const channel = pc.createDataChannel("oai-events");
      state.channel = channel;
      channel.onmessage = (message) => {
        try { onEvent(JSON.parse(message.data)); } catch (err) { /* not JSON: ignore */ }
      };

      setStatus("connecting");
      if (!callerToken) await fetchCallerToken();
      await pc.setLocalDescription(await pc.createOffer());
      await gatheringDone(pc, 2000);
      const response = await fetch("sessions/" + encodeURIComponent(sessionName) + "/offer", {
        method: "POST",
        headers: { "Content-Type": "application/sdp", ...authHeaders() },
        body: pc.localDescription.sdp,
      });
      if (!response.ok) {
        let message = "HTTP " + response.status;
        try { message = (await response.json()).error.message || message; } catch (err) { /* keep */ }
        throw new Error(message);
      }
      state.callUrl = response.headers.get("Location");
      await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
      if (pc.connectionState === "connected") confirmConnected();
      hangupButton.disabled = false;
    } catch (err) {
      addLine("error", "could not start: " + err.message, false);
      stop("idle");
    }
  }

  async function hangUp() {
    const url = state.callUrl;
    state.callUrl = null;
    if (url) {
      try {
        await fetch(url.replace(/^\//, "") + "/hangup", {
          method: "POST", headers: authHeaders(), keepalive: true,
        });
      } catch (err) { /* the call ends with the peer connection anyway */ }
    }
    stop("hung up");
  }

  function stop(status) {
    if (state.pc) { state.pc.close(); state.pc = null; }
    if (state.mic) { state.mic.getTracks().forEach((t) => t.stop()); state.mic = null; }
    hangupButton.disabled = true;
    startButton.disabled = false;
    setStatus(status);
  }

  startButton.addEventListener("click", start);
  hangupButton.addEventListener("click", hangUp);
  window.addEventListener("pagehide", () => { if (state.callUrl) hangUp(); });
  if (params.get("autostart") === "1") start();
})();
