//! Chat: send and delete.

use super::{
    forbidden, Audience, Done, Member, Pending, ReplyId, RoomCore, RoomError, Write, Written,
};
use crate::domain::qa::{ChatBody, ClientId};
use crate::live::protocol::ServerFrame;
use crate::live::views::MessageView;
use crate::store::StoreError;

impl RoomCore {
    pub(super) fn chat(
        &mut self,
        member: &Member,
        body: ChatBody,
        client_id: Option<ClientId>,
        reply: ReplyId,
    ) {
        if !self.room.chat_enabled && !member.staff() {
            return self.reply(reply, Err(forbidden("Chat is turned off in this room.")));
        }
        self.write(
            Write::InsertMessage {
                participant: member.participant_id,
                body: body.into_inner(),
                client_id: client_id.map(ClientId::into_inner),
            },
            Pending::Chat { reply },
        );
    }

    pub(super) fn chat_written(&mut self, reply: ReplyId, result: Result<Written, StoreError>) {
        match result {
            Ok(Written::Message { row, created }) => {
                let view = MessageView::from(&row);
                // A retried send is answered as the first time, not repeated.
                if created {
                    self.deliver(
                        Audience::All,
                        ServerFrame::ChatMessage {
                            message: view.clone(),
                        },
                    );
                }
                self.reply(reply, Ok(Done::Message(view)));
            }
            Ok(_) => self.unexpected(reply, "chat"),
            Err(e) => self.reply(reply, Err(e.into())),
        }
    }

    pub(super) fn delete_message(&mut self, id: i64, reply: ReplyId) {
        self.write(
            Write::DeleteMessage { id },
            Pending::DeleteMessage { reply, id },
        );
    }

    pub(super) fn message_deleted(
        &mut self,
        reply: ReplyId,
        id: i64,
        result: Result<Written, StoreError>,
    ) {
        match result {
            Ok(Written::Done(true)) => {
                self.deliver(Audience::All, ServerFrame::ChatDeleted { id });
                self.reply(reply, Ok(Done::Nothing));
            }
            Ok(Written::Done(false)) => {
                self.reply(reply, Err(RoomError::NotFound("No such message.")))
            }
            Ok(_) => self.unexpected(reply, "delete"),
            Err(e) => self.reply(reply, Err(e.into())),
        }
    }
}
