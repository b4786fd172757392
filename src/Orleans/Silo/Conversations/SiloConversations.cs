namespace RecurrentDepth.Orleans.Conversations;

/// <summary>Counts the conversation grains active on this silo (one of the figures the silo publishes for placement).</summary>
internal sealed class SiloConversations
{
    private int _active;

    public int Active => Volatile.Read(ref _active);

    public void Activated() => Interlocked.Increment(ref _active);

    public void Deactivated() => Interlocked.Decrement(ref _active);
}
