// MathJax for the site: the guides' math comes from pymdownx.arithmatex (generic mode wraps it
// in \( \) / \[ \] inside .arithmatex elements); the notebooks' markdown cells, rendered by
// mkdocs-jupyter, keep Jupyter's $...$ / $$...$$ inside .jupyter-wrapper. Only those two
// places are typeset, so a dollar sign elsewhere in a page stays a dollar sign.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex|jupyter-wrapper"
  }
};

// Material's instant navigation swaps pages without a reload: typeset each new page.
document$.subscribe(() => {
  MathJax.startup.output.clearCache();
  MathJax.typesetClear();
  MathJax.texReset();
  MathJax.typesetPromise();
});
