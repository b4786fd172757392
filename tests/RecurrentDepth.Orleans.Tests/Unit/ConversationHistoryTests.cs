using RecurrentDepth.Orleans.Conversations;

namespace RecurrentDepth.Orleans.Tests.Unit;

public sealed class ConversationHistoryTests
{
    private static readonly ConversationMessage System = new("system", "Answer with the digit.");
    private static readonly ConversationMessage User1 = new("user", "3+7=");
    private static readonly ConversationMessage Answer1 = new("assistant", "0");
    private static readonly ConversationMessage User2 = new("user", "9*3=");

    [Fact]
    public void New_messages_are_appended_to_the_stored_history()
    {
        var merged = ConversationHistory.Merge([User1, Answer1], [User2]);

        Assert.Equal([User1, Answer1, User2], merged);
    }

    [Fact]
    public void Instructions_sent_again_with_every_turn_are_stored_once()
    {
        var merged = ConversationHistory.Merge([System, User1, Answer1], [System, User2]);

        Assert.Equal([System, User1, Answer1, User2], merged);
    }

    [Fact]
    public void A_caller_that_resends_the_whole_history_adds_only_what_follows_it()
    {
        var merged = ConversationHistory.Merge([System, User1, Answer1], [System, User1, Answer1, User2]);

        Assert.Equal([System, User1, Answer1, User2], merged);
    }

    [Fact]
    public void Changed_instructions_are_kept_as_a_new_message()
    {
        var other = new ConversationMessage("system", "Answer in words.");

        var merged = ConversationHistory.Merge([System, User1, Answer1], [other, User2]);

        Assert.Equal([System, User1, Answer1, other, User2], merged);
    }

    [Fact]
    public void A_repeated_user_message_is_a_new_turn_not_a_resent_history()
    {
        var merged = ConversationHistory.Merge([User1, Answer1], [User1]);

        Assert.Equal([User1, Answer1, User1], merged);
    }
}
