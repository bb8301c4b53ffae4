"use strict";
/* every file field gets a Chinese button and the chosen names, instead of the browser's own “Choose Files” */
document.querySelectorAll('input[type=file]:not(.visually-hidden)').forEach(function (input, i) {
  if (!input.id) input.id = 'cb-file-' + i;
  input.classList.add('visually-hidden');
  var button = document.createElement('label');
  button.className = 'btn secondary file-button'; button.htmlFor = input.id;
  button.textContent = input.multiple ? '选择文件（可多选）' : '选择文件';
  var picked = document.createElement('span');
  picked.className = 'muted file-picked'; picked.textContent = ' 未选择文件';
  input.after(button, picked);
  input.addEventListener('change', function () {
    var names = Array.from(input.files).map(function (f) { return f.name; });
    picked.textContent = names.length ? ' 已选择：' + names.join('、') : ' 未选择文件';
  });
});
