// content.js — the extension's content script: loads the ES modules of lib/ (content scripts
// cannot be modules themselves). Everything happens in lib/content-main.js, which stays inert
// unless this page's address is one the agent enabled on the options page.
(async () => {
  try {
    const main = await import(chrome.runtime.getURL('lib/content-main.js'));
    await main.start();
  } catch (err) {
    console.warn('话术助手: content script failed to start', err);
  }
})();
