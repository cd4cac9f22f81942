/// A value kept on the heap, so that the struct holding it stays a few words wide.
///
/// A stage's result and item each held a whole `PhotoDocument` (664 bytes) inline, and the load
/// result a second one: a `StepResult` was 1,776 bytes. Every async function that handles one
/// keeps each such temporary in its task's frame for the whole call, so one download in flight
/// held an 84 KB frame. Boxed, a result is 392 bytes. Setting the value stores a new box:
/// the old one may be shared by a copy of the holder.
struct Boxed<Value: Sendable>: Sendable {
    private final class Box: Sendable {
        let value: Value
        init(_ value: Value) { self.value = value }
    }

    private var box: Box

    init(_ value: Value) { box = Box(value) }

    var value: Value {
        get { box.value }
        set { box = Box(newValue) }
    }
}
