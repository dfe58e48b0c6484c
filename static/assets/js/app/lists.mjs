// lists.mjs: a table over a paginated /v1 list ({items, next_cursor}), with GOV.UK pagination.
// Keyset cursors only go forward, so "Previous page" walks back through the cursors seen.
import { api } from './api.mjs';
import { clear, h, pagination, table } from './ui.mjs';

// pagedTable({ path, query, columns: [{ head, cell(item), numeric }], caption, empty, limit })
// -> { el, ready }: `ready` settles when the first page is shown (and rejects with its error).
export function pagedTable({ path, query = {}, columns, caption, empty = 'Nothing to show.', limit = 20, captionSize = 's' }) {
  const el = h('div', { class: 'app-paged' });
  const seen = []; // cursors of the pages before the current one
  let cursor;

  const load = async (c, focus) => {
    const { data } = await api(path, { query: { ...query, limit, cursor: c } });
    cursor = c;
    clear(el);
    const numeric = columns.map((col, i) => (col.numeric ? i : -1)).filter((i) => i >= 0);
    const nodes = [
      table({
        caption,
        captionSize,
        head: columns.map((col) => col.head),
        rows: data.items.map((item) => columns.map((col) => col.cell(item))),
        numeric,
        empty,
      }),
      pagination({
        prev: seen.length
          ? () => {
              const back = seen.pop();
              load(back, true);
            }
          : null,
        next: data.next_cursor
          ? () => {
              seen.push(cursor);
              load(data.next_cursor, true);
            }
          : null,
      }),
    ].filter(Boolean);
    el.append(...nodes);
    if (focus) {
      // The new page's region (focusable, named by the table's caption), else the message.
      const target = el.querySelector('.app-table-wrapper') ?? el.querySelector('p');
      if (target) {
        if (!target.hasAttribute('tabindex')) {
          target.setAttribute('tabindex', '-1');
        }
        target.focus();
      }
    }
    return data;
  };
  return { el, ready: load(undefined, false) };
}

// pagedList({ path, query, draw(items) -> nodes, empty, limit, label }) -> { el, ready }: a
// paginated list drawn by `draw` (not a table: each item a block that fits a phone), with the
// same pagination as pagedTable. Focus moves to the list's first heading on a new page.
export function pagedList({ path, query = {}, draw, empty = 'Nothing to show.', limit = 20, label = 'Results' }) {
  const el = h('div', { class: 'app-paged', role: 'region', 'aria-label': label });
  const seen = [];
  let cursor;

  const load = async (c, focus) => {
    const { data } = await api(path, { query: { ...query, limit, cursor: c } });
    cursor = c;
    clear(el);
    el.append(
      ...[
        data.items.length ? draw(data.items) : h('p', { class: 'govuk-body', text: empty }),
        pagination({
          prev: seen.length ? () => load(seen.pop(), true) : null,
          next: data.next_cursor
            ? () => {
                seen.push(cursor);
                load(data.next_cursor, true);
              }
            : null,
        }),
      ]
        .flat()
        .filter(Boolean),
    );
    if (focus) {
      const target = el.querySelector('h2, h3') ?? el;
      target.setAttribute('tabindex', '-1');
      target.focus();
    }
    return data;
  };
  return { el, ready: load(undefined, false) };
}
