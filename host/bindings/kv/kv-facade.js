// placeholder: being written
export default function facade() { return { create() { return {}; } }; }
