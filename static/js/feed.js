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

  // The feed scrolls inside its own box, which clips the sentinel: observed against the viewport, the
  // margin never reached past that clip, and a sentinel a fraction of a pixel under the box's bottom
  // edge (scrolled to the end) never loaded the next page. Against the box, it loads 600 px early.
  const pager = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) { if (entry.isIntersecting) loadMore(entry.target); });
  }, { root: feed, rootMargin: "600px" });

  observe(feed);

  // "Make me something": queue a render of one's own, then follow its progress.
  const make = document.getElementById("make");
  if (make) {
    const status = document.getElementById("make-status");
    const statusUrl = function (id) { return make.dataset.statusUrl.replace(/0$/, String(id)); };

    function readyCard(job) {
      const card = document.createElement("article");
      card.className = "card made";
      card.dataset.video = job.video.id;
      card.dataset.source = "made_for_you";
      const media = document.createElement("div");
      media.className = "media";
      const video = document.createElement("video");
      Object.assign(video, { src: job.video.src, poster: job.video.poster, muted: true, autoplay: true, loop: true,
                             playsInline: true, controls: true });
      if (job.video.captions) {
        const track = document.createElement("track");
        Object.assign(track, { kind: "captions", src: job.video.captions, srclang: "en", label: "English", default: true });
        video.appendChild(track);
      }
      media.appendChild(video);
      const info = document.createElement("div");
      info.className = "info";
      const why = document.createElement("p");
      why.className = "why";
      why.textContent = "Made for you, just now";
      const title = document.createElement("h2");
      title.className = "title";
      title.textContent = job.video.title;
      info.append(why, title);
      card.append(media, info);
      feed.prepend(card);
      viewer.observe(card);
      if (card.scrollIntoView) card.scrollIntoView({ behavior: "smooth" });
    }

    function follow(id) {
      fetch(statusUrl(id), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          if (job.state === "ready" && job.video) {
            status.textContent = "Ready: “" + job.video.title + "” is at the top of your feed.";
            status.dataset.state = "ready";
            readyCard(job);
          } else if (job.state === "failed" || job.state === "cancelled") {
            status.textContent = "Sorry, that render " + job.state + ". Try again?";
            status.dataset.state = job.state;
          } else {
            status.textContent = (job.state === "queued" ? "Queued…" : "Making it… " + job.progress + "%");
            status.dataset.state = job.state;
            setTimeout(function () { follow(id); }, 1000);
          }
        })
        .catch(function () { setTimeout(function () { follow(id); }, 3000); });
    }

    function ask(body, button) {
      button.disabled = true;
      status.textContent = "Writing your video…";
      fetch(make.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body),
        credentials: "same-origin",
      })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (!res.ok) {
            const errors = res.body.errors || {};
            status.textContent = Object.values(errors).flat().join(" ") || "That did not work.";
            status.dataset.state = "error";
            return;
          }
          follow(res.body.id);
        })
        .finally(function () { button.disabled = false; });
    }

    make.addEventListener("submit", function (ev) {
      ev.preventDefault();
      const aspect = make.querySelector("select[name=aspect]");
      ask({ brief: make.querySelector("input[name=brief]").value, aspect: aspect ? aspect.value : undefined },
          make.querySelector("button"));
    });
    // "Answer" and "Next episode" on a generated piece: the same character replies, the same cast goes on.
    feed.addEventListener("submit", function (ev) {
      const form = ev.target.closest("form.answer");
      if (!form) return;
      ev.preventDefault();
      const answer = form.querySelector("input[name=brief]");
      ask({ brief: answer.value, after: Number(form.dataset.after) }, ev.submitter || form.querySelector("button"));
      answer.value = "";
    });
  }
})();
