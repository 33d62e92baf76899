// The feed: muted autoplay, interaction buttons, view dwell, and infinite scroll.
(function () {
  "use strict";
  const feed = document.getElementById("feed");
  if (!feed) return;
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const pageUrl = feed.dataset.pageUrl;
  const interactUrl = feed.dataset.interactUrl;
  const shown = new Map(); // video id -> ms when it came into view
  let loading = false;

  function eventId() {
    return (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random();
  }

  function send(video, kind, extra) {
    const body = Object.assign({ video: Number(video), kind: kind, client_event_id: eventId() }, extra || {});
    return fetch(interactUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
  }

  feed.addEventListener("click", function (ev) {
    const button = ev.target.closest("button[data-kind]");
    if (!button) return;
    const card = button.closest(".card");
    const kind = button.dataset.kind;
    card.dataset.acted = "1";
    send(card.dataset.video, kind).then(function (r) {
      if (!r.ok) return;
      button.classList.add("done");
      card.classList.add("acted-" + kind);
      if (kind === "share" && navigator.share) navigator.share({ title: card.querySelector(".title").textContent, url: location.href }).catch(function () {});
      if (kind === "skip" || kind === "dislike") {
        const next = card.nextElementSibling;
        if (next && next.scrollIntoView) next.scrollIntoView({ behavior: "smooth" });
      }
    });
  });

  const viewer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      const card = entry.target;
      const video = card.querySelector("video");
      if (entry.isIntersecting) {
        shown.set(card.dataset.video, performance.now());
        if (video) video.play().catch(function () {});
      } else if (shown.has(card.dataset.video)) {
        if (video) video.pause();
        const seconds = (performance.now() - shown.get(card.dataset.video)) / 1000;
        shown.delete(card.dataset.video);
        if (card.dataset.acted || card.dataset.viewed || seconds < 1) return;
        card.dataset.viewed = "1";
        const duration = video && video.duration ? video.duration : 10;
        send(card.dataset.video, "view", { value: Math.round(seconds * 10) / 10, watch_fraction: Math.min(1, seconds / duration) });
      }
    });
  }, { threshold: 0.6 });

  function observe(root) {
    root.querySelectorAll(".card").forEach(function (c) { viewer.observe(c); });
    const sentinel = root.querySelector(".sentinel");
    if (sentinel) pager.observe(sentinel);
  }

  function loadMore(sentinel) {
    if (loading) return;
    loading = true;
    pager.unobserve(sentinel);
    fetch(pageUrl + "?cursor=" + encodeURIComponent(sentinel.dataset.next), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        const holder = document.createElement("div");
        holder.innerHTML = html;
        sentinel.remove();
        const nodes = Array.from(holder.children);
        nodes.forEach(function (n) { feed.appendChild(n); });
        nodes.forEach(function (n) { if (n.matches(".card")) viewer.observe(n); else if (n.matches(".sentinel")) pager.observe(n); });
      })
      .catch(function () { pager.observe(sentinel); })
      .finally(function () { loading = false; });
  }

  const pager = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) { if (entry.isIntersecting) loadMore(entry.target); });
  }, { rootMargin: "600px" });

  observe(feed);
})();
